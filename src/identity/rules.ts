/**
 * Identity rules: per-workspace configuration of how identifiers become profiles.
 *
 * Defaults keep ordinary people whole (any number of cookies and devices, up to five emails and
 * phones) while keeping two logged-in people apart (one `user_id` per profile).
 */
import type { MatchingSettings } from './match-settings.ts';

export interface IdentifierTypeRule {
  /** Lower number = higher priority. A message's identifiers are linked in priority order. */
  readonly priority: number;
  /** At most this many identifiers of this type in one profile; absent = no limit. */
  readonly limit?: number;
}

export interface QuarantineRule {
  /** An identifier seen with more than this many distinct values of one `peerTypes` type is quarantined. */
  readonly maxPeers: number;
  readonly peerTypes: readonly string[];
}

export interface IdentityRules {
  readonly types: Readonly<Record<string, IdentifierTypeRule>>;
  /** Priority of identifier types not listed in `types` (e.g. a new `context.externalIds` type). */
  readonly defaultPriority: number;
  /** Extra junk values for this workspace: `value` (any type) or `type:value`. Added to the defaults. */
  readonly blocklist: readonly string[];
  /** Trait name → identifier type, e.g. `{ "loyaltyNumber": "loyalty_id" }`. */
  readonly traitIdentifiers: Readonly<Record<string, string>>;
  readonly quarantine: QuarantineRule;
  /** ISO 3166 region for phone numbers written without a country code. */
  readonly phoneRegion: string;
  /** Identifier type given to an alias message's `previousId`. */
  readonly aliasPreviousIdType: string;
  /** Probabilistic matching (match-settings.ts); absent until first configured. */
  readonly matching?: MatchingSettings;
}

export const DEFAULT_RULES: IdentityRules = Object.freeze({
  types: Object.freeze({
    user_id: { priority: 1, limit: 1 },
    email: { priority: 2, limit: 5 },
    phone: { priority: 3, limit: 5 },
    device_id: { priority: 5 },
    anonymous_id: { priority: 6 },
  }),
  defaultPriority: 4,
  blocklist: Object.freeze([]),
  traitIdentifiers: Object.freeze({}),
  quarantine: Object.freeze({ maxPeers: 5, peerTypes: Object.freeze(['user_id', 'email', 'phone']) }),
  phoneRegion: 'US',
  aliasPreviousIdType: 'anonymous_id',
});

/**
 * Junk values that never become identifiers, whatever their type. Compared case-insensitively
 * after trimming. Workspaces add their own through `blocklist`.
 */
export const DEFAULT_BLOCKLIST: readonly string[] = Object.freeze([
  'null',
  'undefined',
  'nil',
  'none',
  'nan',
  '0',
  '-1',
  '1',
  'true',
  'false',
  '[object object]',
  'anonymous',
  'unknown',
  'guest',
  'n/a',
  'na',
  'test',
  'test@test.com',
  'test@example.com',
  'email@example.com',
  'user@example.com',
  'noemail@noemail.com',
  'no@email.com',
  'none@none.com',
  'null@null.com',
  '0000000000',
  '1234567890',
  '00000000-0000-0000-0000-000000000000',
]);

export function typeRule(rules: IdentityRules, type: string): IdentifierTypeRule {
  return rules.types[type] ?? { priority: rules.defaultPriority };
}

/** Total order on identifier types: priority, then name, so every process sorts a message alike. */
export function compareTypes(rules: IdentityRules, a: string, b: string): number {
  const pa = typeRule(rules, a).priority;
  const pb = typeRule(rules, b).priority;
  if (pa !== pb) return pa - pb;
  return a < b ? -1 : a > b ? 1 : 0;
}
