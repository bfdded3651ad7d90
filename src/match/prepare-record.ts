import { doubleMetaphone } from 'double-metaphone';
import type { Attribute, ComparedAttribute, MatchInput } from './attributes.ts';
import { generationOf } from './generation.ts';
import {
  joinDateParts,
  normaliseCode,
  normaliseEmail,
  normaliseGender,
  normaliseName,
  normalisePhone,
  normaliseStreet,
  normaliseText,
  parseAddress,
  parseDate,
  splitFullName,
  type DateOrder,
  type DateParts,
} from './normalise.ts';

/** How an attribute is compared; each kind has its own ordered levels (see comparisons.ts). */
export type ComparisonKind =
  | 'name'
  | 'date'
  | 'houseNumber'
  | 'postcode'
  | 'street'
  | 'address'
  | 'city'
  | 'category'
  | 'email'
  | 'phone'
  | 'identifier'
  | 'text';

/** The comparison kind of each compared attribute. */
export function kindOf(attribute: ComparedAttribute): ComparisonKind {
  switch (attribute) {
    case 'firstName':
    case 'middleName':
    case 'lastName':
      return 'name';
    case 'birthday':
      return 'date';
    case 'streetNumber':
      return 'houseNumber';
    case 'street':
      return 'street';
    case 'address':
      return 'address';
    case 'city':
      return 'city';
    case 'postalCode':
      return 'postcode';
    case 'state':
    case 'country':
    case 'gender':
      return 'category';
    case 'email':
      return 'email';
    case 'phone':
      return 'phone';
    case 'nationalId':
      return 'identifier';
    default:
      return attribute.startsWith('id:') ? 'identifier' : 'text';
  }
}

/**
 * One attribute of one record, normalised once so that comparing it with many others costs no
 * re-parsing. `v` is the canonical value (exact agreement and term frequencies use it); the other
 * fields serve particular kinds.
 */
export interface Feature {
  readonly v: string;
  /** v without spaces (names, for edit distances). */
  readonly compact?: string;
  /** Names: the words of v. */
  readonly tokens?: readonly string[];
  /**
   * Addresses, streets and free text: the words of v (split at single spaces) as triples of a
   * 30-bit hash, start and end offset in v. Two addresses mostly share no word, which small
   * integers in one array tell without reading any text; a word is read (from v) only when its
   * hash agrees (see `wordOverlap`). A million addresses kept as arrays of word strings were
   * four million more objects for every full garbage collection to mark.
   */
  readonly words?: readonly number[];
  /** Double Metaphone primary and alternate codes (names). */
  readonly phonetic?: readonly [string, string];
  readonly date?: DateParts;
  /**
   * Addresses: the length of the house number that starts v (`12b main street`: 3), 0 when the
   * line does not start with one; the rest of the line follows it after a space.
   */
  readonly numberEnd?: number;
  /** A number unique among the features of one `FeatureCache` (set for cached features only). */
  readonly id?: number;
  /**
   * Names: how many records carry this value in the data the model is trained on or was trained
   * on (see `countNames`); set after preparing, unknown (treated as rare) until then.
   */
  seen?: number;
}

/** A record ready to compare: its features in the order of the model's comparisons. */
export interface PreparedRecord {
  readonly id: string;
  /** 0 for the first (or only) file, 1 for the second file of a link. */
  readonly source: 0 | 1;
  readonly features: readonly (Feature | undefined)[];
  /** The generation the record's names carry (Sr 1, Jr 2, III 3…), 0 when none (see generation.ts). */
  readonly generation: number;
}

function nameFeature(v: string | undefined): Feature | undefined {
  if (v === undefined) return undefined;
  const compact = v.replace(/ /g, '');
  const [p, s] = doubleMetaphone(compact);
  return { v, compact, tokens: v.split(' '), phonetic: [p, s] };
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function dateFeature(date: DateParts | undefined): Feature | undefined {
  if (date === undefined) return undefined;
  return { v: `${date.y}${pad2(date.m)}${pad2(date.d)}`, date };
}

function plain(v: string | undefined): Feature | undefined {
  return v === undefined ? undefined : { v };
}

function tokenised(v: string | undefined): Feature | undefined {
  return v === undefined ? undefined : { v, words: wordSpans(v) };
}

/**
 * The words of `v`, as `v.split(' ')` gives them, each as [FNV-1a hash kept to 30 bits (a small
 * integer in any V8 build), start, end].
 */
export function wordSpans(v: string): number[] {
  const out: number[] = [];
  let start = 0;
  for (;;) {
    let end = v.indexOf(' ', start);
    if (end < 0) end = v.length;
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ v.charCodeAt(i), 0x01000193);
    out.push(h & 0x3fffffff, start, end);
    if (end === v.length) return out;
    start = end + 1;
  }
}

function addressFeature(v: string | undefined): Feature | undefined {
  if (v === undefined) return undefined;
  const space = v.indexOf(' ');
  const numberEnd = space > 0 && /^\d+[a-z]?$/.test(v.slice(0, space)) ? space : 0;
  return { v, words: wordSpans(v), numberEnd };
}

/** The full-name split, used only for the name parts the record does not give on their own. */
function nameParts(values: MatchInput['values']): { first?: string; middle?: string; last?: string } {
  const given = {
    first: normaliseName(values.firstName),
    middle: normaliseName(values.middleName),
    last: normaliseName(values.lastName),
  };
  if (values.fullName === undefined || (given.first !== undefined && given.last !== undefined)) return given;
  const split = splitFullName(values.fullName);
  return { first: given.first ?? split.first, middle: given.middle ?? split.middle, last: given.last ?? split.last };
}

/** Options that change how raw values are read; they belong to the model so scoring reads alike. */
export interface ReadOptions {
  readonly dateOrder: DateOrder;
}

/**
 * Features already made, per compared attribute: records that share a value share one numbered
 * Feature object, so a million records with a few thousand first names normalise and encode
 * (Double Metaphone) each name once, hold it once in memory, and comparisons, blocking and term
 * frequencies can tell equal values by identity and count them by number. Attributes whose raw
 * values repeat are also looked up by raw value before any normalising. Made for one list of
 * attributes and one date order.
 */
export interface FeatureCache {
  readonly byAttribute: Map<string, Feature | undefined>[];
  /** Cached features by normalised value (several raw spellings, one feature), per attribute. */
  readonly byValue: Map<string, Feature>[];
  next: number;
}

/** Attributes whose values repeat enough for a cache to pay (not emails, phones or free text). */
const CACHED = new Set<ComparedAttribute>(['firstName', 'middleName', 'lastName', 'birthday', 'gender', 'streetNumber', 'street', 'city', 'postalCode', 'state', 'country']);

/** An empty cache for `attributes`. */
export function featureCache(attributes: readonly ComparedAttribute[]): FeatureCache {
  return { byAttribute: attributes.map(() => new Map()), byValue: attributes.map(() => new Map()), next: 0 };
}

/** The raw text a cached attribute's feature depends on, or undefined when it cannot be cached. */
function rawKey(attribute: ComparedAttribute, values: MatchInput['values']): string | undefined {
  if (!CACHED.has(attribute)) return undefined;
  switch (attribute) {
    case 'firstName':
    case 'middleName':
    case 'lastName':
      // A full name feeds every name part; such records are not cached.
      return values.fullName === undefined ? (values[attribute] ?? '') : undefined;
    case 'birthday':
      return values.birthday !== undefined ? values.birthday : `\u0000${values.birthYear ?? ''}/${values.birthMonth ?? ''}/${values.birthDay ?? ''}`;
    case 'postalCode':
      return values.postalCode !== undefined || values.address === undefined ? (values.postalCode ?? '') : undefined;
    default:
      return values[attribute] ?? '';
  }
}

/**
 * Normalises one input record into the features of `attributes` (the model's comparisons, in
 * order). A value that cannot be read (an unparseable date, an email without `@`) is missing.
 */
export function prepareRecord(
  input: MatchInput,
  attributes: readonly ComparedAttribute[],
  options: ReadOptions & { readonly source?: 0 | 1; readonly cache?: FeatureCache },
): PreparedRecord {
  // Plain loops and module-level helpers, no closures: this runs once per record, and tsx (which
  // runs kith) names every closure it creates with a property write, a cost per record.
  const values = input.values;
  const cache = options.cache;
  const names: NameParts = { parts: undefined };
  const features = new Array<Feature | undefined>(attributes.length);
  for (let c = 0; c < attributes.length; c++) {
    const attribute = attributes[c]!;
    if (cache === undefined) {
      features[c] = makeFeature(attribute, values, names, options.dateOrder);
      continue;
    }
    const key = rawKey(attribute, values);
    // Values that rarely repeat (emails, phones, addresses) are made every time, then numbered.
    if (key === undefined) {
      features[c] = numbered(cache, c, makeFeature(attribute, values, names, options.dateOrder));
      continue;
    }
    const map = cache.byAttribute[c]!;
    const known = map.get(key);
    if (known !== undefined || map.has(key)) {
      features[c] = known;
      continue;
    }
    const made = numbered(cache, c, makeFeature(attribute, values, names, options.dateOrder));
    map.set(key, made);
    features[c] = made;
  }
  return { id: input.id, source: options.source ?? 0, features, generation: generationOf(values) };
}

/** A record's name parts, split from its full name at most once. */
interface NameParts {
  parts: ReturnType<typeof nameParts> | undefined;
}

/** The cache's feature for a value ("Smith" and "SMITH" are one value: one feature, one id). */
function numbered(cache: FeatureCache, c: number, made: Feature | undefined): Feature | undefined {
  if (made === undefined) return made;
  const same = cache.byValue[c]!.get(made.v);
  if (same !== undefined) return same;
  // The fresh feature is numbered in place, not copied: a spread copy here, where every kind of
  // feature passes, gave each feature a hidden class of its own (a million of them at a million
  // records), which made the heap half again as large and every property read in the
  // comparisons a slow lookup.
  (made as { id?: number }).id = cache.next++;
  cache.byValue[c]!.set(made.v, made);
  return made;
}

/** One attribute's feature, made from the record's raw values. */
function makeFeature(attribute: ComparedAttribute, values: MatchInput['values'], names: NameParts, dateOrder: DateOrder): Feature | undefined {
  switch (attribute) {
    case 'firstName':
      return nameFeature((names.parts ??= nameParts(values)).first);
    case 'middleName':
      return nameFeature((names.parts ??= nameParts(values)).middle);
    case 'lastName':
      return nameFeature((names.parts ??= nameParts(values)).last);
    case 'birthday':
      return dateFeature(values.birthday !== undefined ? parseDate(values.birthday, dateOrder) : joinDateParts(values.birthYear, values.birthMonth, values.birthDay));
    case 'postalCode':
      // A postcode column wins; else the postcode written in a one-line address.
      return plain(values.postalCode !== undefined ? normaliseCode(values.postalCode) : parseAddress(values.address).postcode);
    case 'streetNumber':
    case 'nationalId':
      return plain(normaliseCode(values[attribute]));
    case 'street':
      return tokenised(normaliseStreet(values.street));
    case 'address':
      return addressFeature(parseAddress(values.address).line);
    case 'city':
    case 'state':
    case 'country':
      return plain(normaliseText(values[attribute]));
    case 'gender':
      return plain(normaliseGender(values.gender));
    case 'email':
      return plain(normaliseEmail(values.email));
    case 'phone':
      return plain(normalisePhone(values.phone));
    default:
      if (attribute.startsWith('id:')) return plain(normaliseCode(values[attribute]));
      return tokenised(normaliseText(values[attribute as Attribute]));
  }
}

/**
 * The attributes to compare, given the attributes a mapping provides: input-only forms become the
 * attributes they feed (a full name gives first, middle and last names). The order is fixed so
 * that models trained on the same columns look alike.
 */
export function comparedAttributes(provided: Iterable<Attribute>): ComparedAttribute[] {
  const set = new Set<Attribute>(provided);
  const out = new Set<ComparedAttribute>();
  const order: readonly ComparedAttribute[] = [
    'firstName',
    'middleName',
    'lastName',
    'birthday',
    'gender',
    'streetNumber',
    'street',
    'address',
    'city',
    'postalCode',
    'state',
    'country',
    'email',
    'phone',
    'nationalId',
  ];
  const derived = (a: ComparedAttribute): boolean => {
    if (a === 'firstName' || a === 'lastName' || a === 'middleName') return set.has(a) || set.has('fullName');
    if (a === 'birthday') return set.has('birthday') || set.has('birthYear');
    // A one-line address may carry its postcode.
    if (a === 'postalCode') return set.has('postalCode') || set.has('address');
    return set.has(a);
  };
  for (const a of order) if (derived(a)) out.add(a);
  for (const a of [...set].sort()) if (a.startsWith('id:')) out.add(a as ComparedAttribute);
  for (const a of [...set].sort()) if (a.startsWith('text:')) out.add(a as ComparedAttribute);
  return [...out];
}
