import type { JsonObject, JsonValue, ValidMessage } from '../spec/segment-message.ts';
import { identifierKey, type IdentifierKey } from './identifier.ts';
import { normaliseIdentifier } from './normalise-identifier.ts';
import { compareTypes, type IdentityRules } from './rules.ts';
import { splitIdentifierKey } from './identifier.ts';

export interface IgnoredIdentifier {
  readonly type: string;
  readonly value: string;
  readonly reason: string;
}

export interface ExtractedIdentifiers {
  /** Distinct identifiers in link order: type priority, then type name, then value. */
  readonly keys: readonly IdentifierKey[];
  /** Values that looked like identifiers but were refused (junk, invalid), for operators and explain. */
  readonly ignored: readonly IgnoredIdentifier[];
}

function asObject(v: JsonValue | undefined): JsonObject | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}

/**
 * Reads every identifier a message carries: `userId`, `anonymousId`, alias `previousId`,
 * `context.device.id`, each `context.externalIds[]`, and from `traits` (identify only; group traits
 * describe the group) and `context.traits`: `email`, `phone` and the workspace's trait mappings.
 */
export function extractIdentifiers(message: ValidMessage, rules: IdentityRules): ExtractedIdentifiers {
  const candidates: Array<[string, unknown]> = [];
  if (message.userId !== undefined) candidates.push(['user_id', message.userId]);
  if (message.anonymousId !== undefined) candidates.push(['anonymous_id', message.anonymousId]);
  if (message.previousId !== undefined) candidates.push([rules.aliasPreviousIdType, message.previousId]);

  const context = message.context;
  const device = asObject(context.device);
  if (device?.id !== undefined && device.id !== null) candidates.push(['device_id', device.id]);

  const externalIds = context.externalIds;
  if (Array.isArray(externalIds)) {
    for (const entry of externalIds) {
      const e = asObject(entry);
      if (e === undefined || typeof e.type !== 'string') continue;
      candidates.push([e.type.trim().toLowerCase(), e.id]);
    }
  }

  const traitSources: JsonObject[] = [];
  if (message.type === 'identify' && message.traits !== undefined) traitSources.push(message.traits);
  const contextTraits = asObject(context.traits);
  if (contextTraits !== undefined) traitSources.push(contextTraits);
  for (const traits of traitSources) {
    if (traits.email !== undefined && traits.email !== null && traits.email !== '') candidates.push(['email', traits.email]);
    if (traits.phone !== undefined && traits.phone !== null && traits.phone !== '') candidates.push(['phone', traits.phone]);
    for (const [trait, type] of Object.entries(rules.traitIdentifiers)) {
      const v = traits[trait];
      if (v !== undefined && v !== null && v !== '') candidates.push([type, v]);
    }
  }

  const keys = new Set<IdentifierKey>();
  const ignored: IgnoredIdentifier[] = [];
  for (const [type, raw] of candidates) {
    const result = normaliseIdentifier(type, raw, rules);
    if (result.ok) keys.add(identifierKey(type, result.value));
    else ignored.push({ type, value: typeof raw === 'string' ? raw : JSON.stringify(raw) ?? String(raw), reason: result.reason });
  }
  return { keys: sortKeys([...keys], rules), ignored };
}

/** Sorts identifier keys into link order; every process must agree on it for sequence neutrality. */
export function sortKeys(keys: IdentifierKey[], rules: IdentityRules): IdentifierKey[] {
  return keys.sort((a, b) => {
    const ta = splitIdentifierKey(a).type;
    const tb = splitIdentifierKey(b).type;
    const byType = compareTypes(rules, ta, tb);
    if (byType !== 0) return byType;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}
