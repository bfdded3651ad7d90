import { IDENTIFIER_TYPE_PATTERN } from './identifier.ts';
import { DEFAULT_RULES, type IdentifierTypeRule, type IdentityRules } from './rules.ts';
import { getCountries, type CountryCode } from 'libphonenumber-js';
import { matchingOf, parseMatchingSettings, type MatchingSettings } from './match-settings.ts';

export type RulesCheck = { ok: true; rules: IdentityRules } | { ok: false; field: string; message: string };

const KNOWN_KEYS = new Set([
  'types',
  'defaultPriority',
  'blocklist',
  'traitIdentifiers',
  'quarantine',
  'phoneRegion',
  'aliasPreviousIdType',
  'matching',
]);
const COUNTRIES = new Set<string>(getCountries());

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1_000_000;
}

/**
 * Parses a (partial) rules document, as sent to `PUT .../settings/identity` or `kith rules set`,
 * over a base (the workspace's current rules, or the defaults). Fields absent from `raw` keep the
 * base's value; `types` entries are merged per type, so `{"types": {"email": {"limit": 2}}}`
 * changes only the email limit. Unknown fields are refused so typos do not pass silently.
 */
export function parseRules(raw: unknown, base: IdentityRules = DEFAULT_RULES): RulesCheck {
  if (!isPlainObject(raw)) return { ok: false, field: '', message: 'rules must be a JSON object' };
  for (const key of Object.keys(raw)) {
    if (!KNOWN_KEYS.has(key)) return { ok: false, field: key, message: `unknown rules field "${key}"` };
  }
  const types: Record<string, IdentifierTypeRule> = { ...base.types };
  if (raw.types !== undefined) {
    if (!isPlainObject(raw.types)) return { ok: false, field: 'types', message: 'types must be an object' };
    for (const [type, rule] of Object.entries(raw.types)) {
      const field = `types.${type}`;
      if (!IDENTIFIER_TYPE_PATTERN.test(type)) return { ok: false, field, message: `invalid identifier type "${type}"` };
      if (rule === null) {
        delete types[type];
        continue;
      }
      if (!isPlainObject(rule)) return { ok: false, field, message: 'must be an object {priority, limit}' };
      for (const k of Object.keys(rule)) {
        if (k !== 'priority' && k !== 'limit') return { ok: false, field: `${field}.${k}`, message: `unknown field "${k}"` };
      }
      const previous = types[type];
      const priority = rule.priority ?? previous?.priority ?? base.defaultPriority;
      if (!isPositiveInt(priority)) return { ok: false, field: `${field}.priority`, message: 'priority must be a positive integer' };
      const limit = rule.limit === undefined ? previous?.limit : rule.limit;
      if (limit !== undefined && limit !== null && !isPositiveInt(limit)) {
        return { ok: false, field: `${field}.limit`, message: 'limit must be a positive integer or null' };
      }
      types[type] = limit === undefined || limit === null ? { priority } : { priority, limit };
    }
  }
  const defaultPriority = raw.defaultPriority ?? base.defaultPriority;
  if (!isPositiveInt(defaultPriority)) return { ok: false, field: 'defaultPriority', message: 'must be a positive integer' };

  let blocklist = base.blocklist;
  if (raw.blocklist !== undefined) {
    if (!Array.isArray(raw.blocklist) || !raw.blocklist.every((v) => typeof v === 'string' && v.trim() !== '' && v.length <= 1024)) {
      return { ok: false, field: 'blocklist', message: 'blocklist must be an array of non-empty strings' };
    }
    blocklist = raw.blocklist.map((v: string) => v.trim());
  }

  let traitIdentifiers = base.traitIdentifiers;
  if (raw.traitIdentifiers !== undefined) {
    if (!isPlainObject(raw.traitIdentifiers)) return { ok: false, field: 'traitIdentifiers', message: 'must be an object {trait: type}' };
    for (const [trait, type] of Object.entries(raw.traitIdentifiers)) {
      if (typeof type !== 'string' || !IDENTIFIER_TYPE_PATTERN.test(type)) {
        return { ok: false, field: `traitIdentifiers.${trait}`, message: 'must name an identifier type' };
      }
    }
    traitIdentifiers = raw.traitIdentifiers as Record<string, string>;
  }

  let quarantine = base.quarantine;
  if (raw.quarantine !== undefined) {
    const q = raw.quarantine;
    if (!isPlainObject(q)) return { ok: false, field: 'quarantine', message: 'must be an object {maxPeers, peerTypes}' };
    const maxPeers = q.maxPeers ?? quarantine.maxPeers;
    if (!isPositiveInt(maxPeers)) return { ok: false, field: 'quarantine.maxPeers', message: 'must be a positive integer' };
    const peerTypes = q.peerTypes ?? quarantine.peerTypes;
    if (!Array.isArray(peerTypes) || !peerTypes.every((t) => typeof t === 'string' && IDENTIFIER_TYPE_PATTERN.test(t))) {
      return { ok: false, field: 'quarantine.peerTypes', message: 'must be an array of identifier types' };
    }
    quarantine = { maxPeers, peerTypes };
  }

  const phoneRegion = raw.phoneRegion ?? base.phoneRegion;
  if (typeof phoneRegion !== 'string' || !COUNTRIES.has(phoneRegion)) {
    return { ok: false, field: 'phoneRegion', message: 'must be an ISO 3166 country code such as "US" or "GB"' };
  }
  const aliasPreviousIdType = raw.aliasPreviousIdType ?? base.aliasPreviousIdType;
  if (typeof aliasPreviousIdType !== 'string' || !IDENTIFIER_TYPE_PATTERN.test(aliasPreviousIdType)) {
    return { ok: false, field: 'aliasPreviousIdType', message: 'must name an identifier type' };
  }
  let matching: MatchingSettings | undefined = base.matching;
  if (raw.matching !== undefined) {
    const checked = parseMatchingSettings(raw.matching, matchingOf(base));
    if (!checked.ok) return { ok: false, field: checked.field === '' ? 'matching' : `matching.${checked.field}`, message: checked.message };
    matching = checked.settings;
  }
  return {
    ok: true,
    rules: {
      ...(matching === undefined ? {} : { matching }),
      types,
      defaultPriority,
      blocklist,
      traitIdentifiers,
      quarantine,
      phoneRegion: phoneRegion as CountryCode,
      aliasPreviousIdType,
    },
  };
}
