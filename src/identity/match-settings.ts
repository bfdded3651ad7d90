import { parseAttribute, type Attribute } from '../match/attributes.ts';

/**
 * A workspace's probabilistic matching settings, kept in its identity rules under `matching` (so
 * every group commit carries them at no cost; the model itself is stored by version in the store).
 *
 * Absent settings mean the defaults: enabled, but with no model nothing happens until one is
 * trained (`kith match train`) or supplied.
 */
export interface MatchingSettings {
  readonly enabled: boolean;
  /** Version of the workspace's stored model in use, or null for none. */
  readonly model: string | null;
  /** Match probability at and above which a pair is linked (evidence of kind probabilistic). */
  readonly autoLink: number;
  /** Match probability at and above which (and below autoLink) a pair waits for review. */
  readonly review: number;
  /** Trait path (dots into objects: `address.city`) → matcher attribute. */
  readonly attributes: Readonly<Record<string, Attribute>>;
  /** Blocks of the index holding more identifiers than this propose no candidates. */
  readonly maxBlockSize: number;
}

export const DEFAULT_MATCHING: MatchingSettings = Object.freeze({
  enabled: true,
  model: null,
  autoLink: 0.99,
  review: 0.5,
  attributes: Object.freeze({
    firstName: 'firstName',
    lastName: 'lastName',
    name: 'fullName',
    birthday: 'birthday',
    'address.street': 'address',
    'address.city': 'city',
    'address.postalCode': 'postalCode',
    'address.state': 'state',
    phone: 'phone',
    email: 'email',
  }) as Readonly<Record<string, Attribute>>,
  maxBlockSize: 500,
});

export type MatchingCheck = { ok: true; settings: MatchingSettings } | { ok: false; field: string; message: string };

const KNOWN = new Set(['enabled', 'model', 'autoLink', 'review', 'attributes', 'maxBlockSize']);
const TRAIT_PATH = /^[A-Za-z0-9_$-]{1,64}(\.[A-Za-z0-9_$-]{1,64}){0,3}$/;
const MODEL_VERSION = /^m_[0-9a-f]{16}$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses a (partial) matching settings document over `base`: absent fields keep their value,
 * `attributes` replaces the whole mapping (a trait mapped to null is removed from it). `model` may
 * only name a version; storing a new model document is the caller's job (it needs the store).
 */
export function parseMatchingSettings(raw: unknown, base: MatchingSettings = DEFAULT_MATCHING): MatchingCheck {
  if (!isPlainObject(raw)) return { ok: false, field: '', message: 'matching settings must be a JSON object' };
  for (const key of Object.keys(raw)) {
    if (!KNOWN.has(key)) return { ok: false, field: key, message: `unknown matching field "${key}" (known: ${[...KNOWN].join(', ')})` };
  }
  const enabled = raw.enabled ?? base.enabled;
  if (typeof enabled !== 'boolean') return { ok: false, field: 'enabled', message: 'must be true or false' };
  const model = raw.model === undefined ? base.model : raw.model;
  if (model !== null && (typeof model !== 'string' || !MODEL_VERSION.test(model))) {
    return { ok: false, field: 'model', message: 'must be a model version such as "m_0123456789abcdef", a model document, or null' };
  }
  const autoLink = raw.autoLink ?? base.autoLink;
  if (typeof autoLink !== 'number' || !(autoLink > 0 && autoLink < 1)) return { ok: false, field: 'autoLink', message: 'must be a probability strictly between 0 and 1' };
  const review = raw.review ?? base.review;
  if (typeof review !== 'number' || !(review > 0 && review < 1)) return { ok: false, field: 'review', message: 'must be a probability strictly between 0 and 1' };
  if (review > autoLink) return { ok: false, field: 'review', message: `must not be above autoLink (${autoLink})` };
  const maxBlockSize = raw.maxBlockSize ?? base.maxBlockSize;
  if (typeof maxBlockSize !== 'number' || !Number.isInteger(maxBlockSize) || maxBlockSize < 2 || maxBlockSize > 100_000) {
    return { ok: false, field: 'maxBlockSize', message: 'must be an integer from 2 to 100000' };
  }
  let attributes = base.attributes;
  if (raw.attributes !== undefined) {
    if (!isPlainObject(raw.attributes)) return { ok: false, field: 'attributes', message: 'must be an object {traitPath: attribute}' };
    const next: Record<string, Attribute> = {};
    for (const [path, value] of Object.entries(raw.attributes)) {
      const field = `attributes.${path}`;
      if (!TRAIT_PATH.test(path)) return { ok: false, field, message: 'must be a trait name or a dotted path such as address.city' };
      if (value === null) continue;
      const attribute = typeof value === 'string' ? parseAttribute(value) : undefined;
      if (attribute === undefined) return { ok: false, field, message: `"${String(value)}" is not a matcher attribute (firstName, lastName, fullName, birthday, address, city, postalCode, …)` };
      next[path] = attribute;
    }
    attributes = next;
  }
  return { ok: true, settings: { enabled, model: model as string | null, autoLink, review, attributes, maxBlockSize } };
}

/** The workspace's settings with defaults filled in. */
export function matchingOf(rules: { readonly matching?: MatchingSettings }): MatchingSettings {
  return rules.matching ?? DEFAULT_MATCHING;
}

/** True when matching can do anything: enabled with a model. The ingest path's one check. */
export function matchingActive(rules: { readonly matching?: MatchingSettings }): boolean {
  const m = rules.matching;
  return m !== undefined && m.enabled && m.model !== null;
}
