import type { Attribute, MatchInput } from '../match/attributes.ts';
import type { JsonObject, JsonValue } from '../spec/segment-message.ts';
import type { MatchRecord, RecordValue } from '../store/match-ports.ts';
import { compareEventKeys } from './event-order.ts';
import type { IdentifierKey } from './identifier.ts';

/** Longest value kept per attribute: personal data, not documents. */
const MAX_VALUE = 512;

function valueAt(traits: JsonObject, path: string): JsonValue | undefined {
  let at: JsonValue | undefined = traits;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined;
    at = (at as JsonObject)[part];
  }
  return at;
}

/**
 * The matcher attributes an identify call's traits carry, through the workspace's mapping: text and
 * numbers are kept (trimmed, bounded), `null` or an empty string clears the attribute, anything else
 * is ignored. Undefined when no mapped trait is present (the call says nothing about the person).
 */
export function recordValuesFromTraits(traits: JsonObject | null, mapping: Readonly<Record<string, Attribute>>): Map<Attribute, string | null> | undefined {
  if (traits === null) return undefined;
  const out = new Map<Attribute, string | null>();
  for (const [path, attribute] of Object.entries(mapping)) {
    const v = valueAt(traits, path);
    if (v === undefined) continue;
    if (v === null) out.set(attribute, null);
    else if (typeof v === 'string') out.set(attribute, v.trim() === '' ? null : v.trim().slice(0, MAX_VALUE));
    else if (typeof v === 'number' && Number.isFinite(v)) out.set(attribute, String(v));
  }
  return out.size === 0 ? undefined : out;
}

/**
 * Applies one identify call's attributes to an identifier's record by survivorship (per attribute,
 * the latest event wins, message id breaking ties), so the record is the same whatever order the
 * calls arrive in. Returns the new record, or undefined when nothing changed.
 */
export function applyToRecord(
  record: MatchRecord | undefined,
  key: IdentifierKey,
  values: ReadonlyMap<Attribute, string | null>,
  at: { t: number; m: string },
): MatchRecord | undefined {
  const next: Record<string, RecordValue> = { ...record?.values };
  let changed = record === undefined;
  for (const [attribute, v] of values) {
    const old = next[attribute];
    if (old !== undefined && compareEventKeys(at, old) <= 0) continue;
    next[attribute] = { v, t: at.t, m: at.m };
    changed = true;
  }
  let firstT = record?.firstT ?? at.t;
  let firstM = record?.firstM ?? at.m;
  if (record !== undefined && compareEventKeys(at, { t: firstT, m: firstM }) < 0) {
    firstT = at.t;
    firstM = at.m;
    changed = true;
  }
  return changed ? { key, values: next, firstT, firstM } : undefined;
}

/** The record as the matcher's input (cleared attributes left out). */
export function toMatchInput(record: MatchRecord): MatchInput {
  const values: Partial<Record<Attribute, string>> = {};
  for (const [attribute, rv] of Object.entries(record.values)) if (rv.v !== null) values[attribute as Attribute] = rv.v;
  return { id: record.key, values };
}

/** True when the two records give the matcher the same values (survivorship bookkeeping aside). */
export function sameValues(a: MatchRecord, b: MatchRecord): boolean {
  const x = toMatchInput(a).values;
  const y = toMatchInput(b).values;
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  for (const k of keys) if (x[k as Attribute] !== y[k as Attribute]) return false;
  return true;
}
