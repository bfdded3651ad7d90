import { HOUSEHOLD_ATTRIBUTES, type ComparedAttribute, type MatchInput } from './attributes.ts';
import { LEVELS, NEAR_LEVELS, compareFeatures, surnameWithMiddleNames } from './comparisons.ts';
import { generationsConflict } from './generation.ts';
import { DATE_DIFFERS, NAME_DIFFERS } from './households.ts';
import type { Model } from './model.ts';
import { ADDRESS_PARTS, PERSONAL_NUMBERS, VETO_WEIGHT, documentExactWeight, isDocument, vouchesForMove } from './pair-evidence.ts';
import { prepareRecord, type ComparisonKind, type Feature, type PreparedRecord } from './prepare-record.ts';
import { float64s, int32s } from './typed-arena.ts';

/** Level code for "a value is missing on one side": the comparison contributes nothing. */
export const NULL_LEVEL = 255;

/** A model turned into arrays for the scoring loop; built once per model and cached. */
export interface CompiledModel {
  readonly model: Model;
  readonly attributes: readonly ComparedAttribute[];
  readonly kinds: readonly ComparisonKind[];
  /** For first and last names, the index of the other one (to see swapped names); else -1. */
  readonly partners: readonly number[];
  /** For the last name, the middle name's index (see `surnameWithMiddleNames`); else -1. */
  readonly middles: readonly number[];
  /** log2(m/u) per comparison and level. */
  readonly weights: readonly Float64Array[];
  /** Per comparison: value → term frequency for the exact level, or undefined without one. */
  readonly frequencies: readonly (((value: string) => number) | undefined)[];
  /** Per comparison and level: 1 for a near-agreement level capped by exact agreement (see `NEAR_LEVELS`). */
  readonly near: readonly Uint8Array[];
  /** Per comparison: log2 of the exact level's m. */
  readonly log2ExactM: Float64Array;
  /** log2(λ / (1 − λ)): the weight of two records about which nothing is known. */
  readonly prior: number;
  /** Per comparison: 1 for the parts of an address (see pair-evidence.ts). */
  readonly addressParts: Uint8Array;
  /** Per comparison: 1 for identity documents (see pair-evidence.ts). */
  readonly documents: Uint8Array;
  /** Per comparison: 1 when exact agreement can vouch for a move (documents, phones; see pair-evidence.ts). */
  readonly vouchers: Uint8Array;
  /** Per comparison: 1 for what a household shares (see households.ts); all 0 unless the model says the data holds households. */
  readonly household: Uint8Array;
  /** Whether the model says the data holds households. */
  readonly households: boolean;
  /** The first name's, last name's and the birth date's comparison, or -1. */
  readonly firstName: number;
  readonly lastName: number;
  readonly birthday: number;
}

/** For first and last names, the index of the other one (to see swapped names); else -1. */
export function namePartners(attributes: readonly ComparedAttribute[]): number[] {
  return attributes.map((a) => (a === 'firstName' ? attributes.indexOf('lastName') : a === 'lastName' ? attributes.indexOf('firstName') : -1));
}

/** For the last name, the index of the middle name (see `surnameWithMiddleNames`); else -1. */
export function nameMiddles(attributes: readonly ComparedAttribute[]): number[] {
  return attributes.map((a) => (a === 'lastName' ? attributes.indexOf('middleName') : -1));
}

const cache = new WeakMap<Model, CompiledModel>();

/**
 * Caps the weight of a comparison's last level ("different") at the least weight of its other
 * levels: no disagreement says "one person" more than complete disagreement does. Estimated
 * one by one, they can come out the other way round when the data holds few such pairs (birth
 * dates "different" at −3.6 against "years within 5" at −5.7 on 159 records), and a father and
 * a son then differ less than two readings of one date.
 */
function differentWeighsLeast(weights: Float64Array): Float64Array {
  const last = weights.length - 1;
  for (let k = 0; k < last; k++) if (weights[k]! < weights[last]!) weights[last] = weights[k]!;
  return weights;
}

/** Compiles (once) the arrays the scoring loop uses. */
export function compileModel(model: Model): CompiledModel {
  const hit = cache.get(model);
  if (hit !== undefined) return hit;
  const attributes = model.comparisons.map((c) => c.attribute);
  const compiled: CompiledModel = {
    model,
    attributes,
    kinds: model.comparisons.map((c) => c.kind),
    partners: namePartners(attributes),
    middles: nameMiddles(attributes),
    // Two different numbers of one identity document are two people (see pair-evidence.ts).
    weights: model.comparisons.map((c) => differentWeighsLeast(Float64Array.from(c.levels, (l, k) => (isDocument(c.kind) && k === c.levels.length - 1 ? VETO_WEIGHT : Math.log2(l.m / l.u))))),
    frequencies: model.comparisons.map((c) => {
      const tf = c.termFrequencies;
      if (tf === undefined) return undefined;
      const counts = new Map(Object.entries(tf.counts));
      return (value: string) => (counts.get(value) ?? tf.otherCount) / tf.total;
    }),
    near: model.comparisons.map((c) => Uint8Array.from(c.levels, (_, level) => (NEAR_LEVELS[c.kind].includes(level) ? 1 : 0))),
    log2ExactM: Float64Array.from(model.comparisons, (c) => Math.log2(c.levels[0]!.m)),
    prior: Math.log2(model.lambda / (1 - model.lambda)),
    addressParts: Uint8Array.from(attributes, (a) => (ADDRESS_PARTS.has(a) ? 1 : 0)),
    household: Uint8Array.from(attributes, (a) => (model.households === true && HOUSEHOLD_ATTRIBUTES.has(a) ? 1 : 0)),
    households: model.households === true,
    firstName: attributes.indexOf('firstName'),
    lastName: attributes.indexOf('lastName'),
    birthday: attributes.indexOf('birthday'),
    documents: Uint8Array.from(model.comparisons, (c) => (isDocument(c.kind) ? 1 : 0)),
    vouchers: Uint8Array.from(model.comparisons, (c) => (isDocument(c.kind) || PERSONAL_NUMBERS.has(c.attribute) ? 1 : 0)),
  };
  cache.set(model, compiled);
  return compiled;
}

/**
 * Prepares a record for `model`'s comparisons; a name counts as seen as often as the model's
 * term-frequency table says (once when the table does not keep it).
 */
export function prepareFor(model: Model, input: MatchInput, source: 0 | 1 = 0): PreparedRecord {
  const compiled = compileModel(model);
  const record = prepareRecord(input, compiled.attributes, { dateOrder: model.dateOrder, source });
  record.features.forEach((f, c) => {
    const tf = model.comparisons[c]!.termFrequencies;
    if (f !== undefined && compiled.kinds[c] === 'name') f.seen = tf !== undefined && Object.hasOwn(tf.counts, f.v) ? tf.counts[f.v]! : 1;
  });
  return record;
}

/** Writes the agreement level of every comparison of a pair into `out` at `offset`. */
export function compareRecords(compiled: Pick<CompiledModel, 'kinds' | 'partners' | 'middles'>, a: PreparedRecord, b: PreparedRecord, out: Uint8Array, offset: number): void {
  const fa = a.features;
  const fb = b.features;
  for (let c = 0; c < compiled.kinds.length; c++) {
    const x = fa[c];
    const y = fb[c];
    if (x === undefined || y === undefined) {
      out[offset + c] = NULL_LEVEL;
      continue;
    }
    out[offset + c] = compareAttribute(compiled, c, fa, fb);
  }
}

/**
 * The level of comparison `c` of two records' features, both present: the features compared,
 * with the records' other name (swapped names) and middle names (a surname among them) where
 * the comparison looks at them.
 */
export function compareAttribute(compiled: Pick<CompiledModel, 'kinds' | 'partners' | 'middles'>, c: number, fa: readonly (Feature | undefined)[], fb: readonly (Feature | undefined)[]): number {
  const x = fa[c]!;
  const y = fb[c]!;
  const p = compiled.partners[c]!;
  const level = p < 0 ? compareFeatures(compiled.kinds[c]!, x, y) : compareFeatures(compiled.kinds[c]!, x, y, fa[p], fb[p]);
  const mid = compiled.middles[c]!;
  return mid < 0 ? level : surnameWithMiddleNames(level, x, y, fa[mid], fb[mid]);
}

/**
 * Remembered levels of pairs of numbered features: a direct-mapped cache over one typed array
 * (one slot per hash, a newer pair evicting an older one), so a lookup is one read of one cache
 * line whether the pair is there or not, and the cache never fills up. A slot holds the smaller
 * feature number, and the larger one × 16 + the level.
 */
class LevelMemo {
  private readonly slots: Int32Array;
  private readonly mask: number;
  constructor(bits: number) {
    this.slots = int32s(2 << bits).fill(-1);
    this.mask = (1 << bits) - 1;
  }
  private slot(x: number, y: number): number {
    return ((Math.imul(x, 0x9e3779b1) ^ Math.imul(y, 0x85ebca6b) ^ (y >>> 11)) & this.mask) << 1;
  }
  /** The remembered level, or -1; `x < y`. */
  get(x: number, y: number): number {
    const h = this.slot(x, y);
    const packed = this.slots[h + 1]!;
    return this.slots[h] === x && packed >>> 4 === y ? packed & 15 : -1;
  }
  set(x: number, y: number, level: number): void {
    const h = this.slot(x, y);
    this.slots[h] = x;
    this.slots[h + 1] = (y << 4) | level;
  }
}

/** Feature numbers the memo can hold (the larger one shares 32 bits with a level). */
const MEMO_MAX_FEATURES = 1 << 27;

/**
 * Kinds whose levels cost more than a remembered lookup and whose values repeat: worth
 * remembering. Emails, phones and addresses are nearly all distinct, so their pairs never repeat.
 */
const MEMO_KINDS = new Set<ComparisonKind>(['name', 'date', 'houseNumber', 'postcode', 'street', 'city', 'text']);

/** Whether `memoComparer` remembers the levels of this kind's value pairs (see MEMO_KINDS). */
export function remembersLevels(kind: ComparisonKind): boolean {
  return MEMO_KINDS.has(kind);
}

/**
 * Records laid out for comparing many pairs: every record's feature numbers in one array (record
 * i's comparison c at i × width + c, -1 when missing) and the features by number. Comparing by
 * number settles missing and equal values without reading a feature, which for a million
 * records is most of the cost (each feature read is a cache miss).
 */
export interface FeatureTable {
  readonly width: number;
  readonly ids: Int32Array;
  readonly byId: readonly (Feature | undefined)[];
}

/**
 * A comparer for many pairs of one feature table (see `compareRecords` for the levels): missing
 * and equal values are settled by number, and the level of two names, streets or cities is
 * computed once and remembered, so the string distances between "Jon" and "John" run once per
 * run, not once per pair of records carrying them. First and last names swapped depend on the
 * records' other name as well; that check runs every time, before the remembered part.
 */
export function memoComparer(compiled: Pick<CompiledModel, 'kinds' | 'partners' | 'middles'>, table: FeatureTable): (i: number, j: number, out: Uint8Array, offset: number) => void {
  const kinds = compiled.kinds;
  const partners = compiled.partners;
  const middles = compiled.middles;
  const width = kinds.length;
  const { ids, byId } = table;
  // A memo far larger than the pairs it can hold only spreads them over more cache lines: four
  // slots per record, between 4,096 and about a million.
  const records = ids.length / Math.max(width, 1);
  const bits = Math.min(20, Math.max(12, Math.ceil(Math.log2(Math.max(records, 1) * 4))));
  const memos = kinds.map((k) => (MEMO_KINDS.has(k) && LEVELS[k].length <= 16 && byId.length <= MEMO_MAX_FEATURES ? new LevelMemo(bits) : undefined));
  return (i, j, out, offset) => {
    const oa = i * width;
    const ob = j * width;
    for (let c = 0; c < width; c++) {
      const ix = ids[oa + c]!;
      const iy = ids[ob + c]!;
      if (ix < 0 || iy < 0) {
        out[offset + c] = NULL_LEVEL;
        continue;
      }
      if (ix === iy) {
        out[offset + c] = 0;
        continue;
      }
      const kind = kinds[c]!;
      const p = partners[c]!;
      if (p >= 0) {
        // Swapped first and last names: this name is the other record's other name and back.
        const pa = ids[oa + p]!;
        const pb = ids[ob + p]!;
        if (pa >= 0 && pb >= 0) {
          const x = byId[ix]!;
          const y = byId[iy]!;
          const xa = byId[pa]!;
          const yb = byId[pb]!;
          if (x.v === yb.v && y.v === xa.v) {
            out[offset + c] = compareFeatures(kind, x, y, xa, yb);
            continue;
          }
        }
      }
      const memo = memos[c];
      let level: number;
      if (memo === undefined) level = compareFeatures(kind, byId[ix]!, byId[iy]!);
      else {
        const lo = ix < iy ? ix : iy;
        const hi = ix < iy ? iy : ix;
        level = memo.get(lo, hi);
        if (level < 0) {
          level = compareFeatures(kind, byId[ix]!, byId[iy]!);
          memo.set(lo, hi, level);
        }
      }
      // A surname among the other record's middle names depends on more than the two surnames:
      // checked after the remembered part, like swapped names before it.
      const mid = middles[c]!;
      if (mid >= 0 && level > 0) {
        const ma = ids[oa + mid]!;
        const mb = ids[ob + mid]!;
        if (ma >= 0 || mb >= 0) level = surnameWithMiddleNames(level, byId[ix]!, byId[iy]!, ma < 0 ? undefined : byId[ma], mb < 0 ? undefined : byId[mb]);
      }
      out[offset + c] = level;
    }
  };
}

/**
 * The weight of the exact level of comparison `c` for value `value`: log2(m / tf(value)) when the
 * model has term frequencies for it, else the level's plain weight.
 */
function exactWeight(compiled: CompiledModel, c: number, value: string): number {
  const frequency = compiled.frequencies[c];
  const plain = compiled.weights[c]![0]!;
  if (frequency === undefined) return plain;
  const comparison = compiled.model.comparisons[c]!;
  const weight = Math.log2(comparison.levels[0]!.m / frequency(value));
  return isDocument(comparison.kind) ? documentExactWeight(weight, frequency(value) * comparison.termFrequencies!.total) : weight;
}

/**
 * Whether exact agreement of comparison `c` on `value` vouches for a move (see
 * `vouchesForMove`): how many records carry the value comes from the term frequencies.
 */
function vouches(compiled: CompiledModel, c: number, value: string): boolean {
  if (compiled.vouchers[c] !== 1) return false;
  const comparison = compiled.model.comparisons[c]!;
  const frequency = compiled.frequencies[c];
  const holders = frequency === undefined ? Number.POSITIVE_INFINITY : frequency(value) * comparison.termFrequencies!.total;
  return vouchesForMove(comparison.attribute, comparison.kind, holders);
}

/** The weight of what the records say beyond their attributes: 0, or a veto (see pair-evidence.ts). */
function recordWeight(a: PreparedRecord, b: PreparedRecord): number {
  return generationsConflict(a.generation, b.generation) ? VETO_WEIGHT : 0;
}

/** The weight of level `level` (not missing) of comparison `c` for the features `x` and `y`. */
function levelWeight(compiled: CompiledModel, c: number, level: number, x: Feature, y: Feature): number {
  if (level === 0) return exactWeight(compiled, c, x.v);
  const plain = compiled.weights[c]![level]!;
  const frequency = compiled.frequencies[c];
  if (frequency === undefined || compiled.near[c]![level] !== 1) return plain;
  return Math.min(plain, exactWeight(compiled, c, frequency(x.v) >= frequency(y.v) ? x.v : y.v));
}

/**
 * A pair's weight, summed attribute by attribute with the corrections for evidence that is not
 * independent: address parts that differ count once when a document, or a phone few records
 * carry, agrees (a move, see pair-evidence.ts), and in data with households what a household shares counts once when the
 * first name or the birth date says another person (see households.ts).
 */
class PairSum {
  private w = 0;
  private spread = 0;
  private strongest = 0;
  private vouched = false;
  private shared = 0;
  private sharedMax = 0;
  /** After `total`: what counting a move once added (≥ 0), and counting a household once (≤ 0). */
  moved = 0;
  family = 0;
  constructor(private readonly compiled: CompiledModel) {}
  start(w: number): void {
    this.w = w;
    this.spread = 0;
    this.strongest = 0;
    this.vouched = false;
    this.shared = 0;
    this.sharedMax = 0;
  }
  /** Adds comparison `c` at `level` weighing `x`; `vouches`: it agrees exactly on a value that vouches for a move. */
  add(c: number, level: number, x: number, vouches: boolean): void {
    const compiled = this.compiled;
    if (x > 0 && compiled.household[c] === 1) {
      this.shared += x;
      if (x > this.sharedMax) this.sharedMax = x;
    } else if (x < 0 && compiled.addressParts[c] === 1) {
      this.spread += x;
      if (x < this.strongest) this.strongest = x;
    } else this.w += x;
    if (vouches) this.vouched = true;
  }
  total(levels: Uint8Array, offset: number): number {
    this.moved = this.vouched ? this.strongest - this.spread : 0;
    this.family = this.shared > this.sharedMax && familyMembers(this.compiled, levels, offset) ? this.sharedMax - this.shared : 0;
    return this.w + this.spread + this.shared + this.moved + this.family;
  }
}

/**
 * Two members of one family, in data that holds households (see households.ts): the surnames
 * agree (no worse than an initial) and the first name or the birth date says another person.
 * Different first and last names are more often the two swapped with a typo than a household.
 */
export function familyMembers(compiled: CompiledModel, levels: Uint8Array, offset: number): boolean {
  const { firstName, lastName, birthday } = compiled;
  if (!compiled.households) return false;
  const l = lastName < 0 ? NULL_LEVEL : levels[offset + lastName]!;
  if (l === NULL_LEVEL || l >= NAME_DIFFERS) return false;
  const f = firstName < 0 ? NULL_LEVEL : levels[offset + firstName]!;
  const b = birthday < 0 ? NULL_LEVEL : levels[offset + birthday]!;
  return (f !== NULL_LEVEL && f >= NAME_DIFFERS) || (b !== NULL_LEVEL && b >= DATE_DIFFERS);
}

/**
 * Two members of one family (see `familyMembers`) whose birth dates say two people: for
 * clustering, strangers. A first name alone does not make them so: a nickname with a typo
 * (Bill and Willam) reads as another first name as often as a twin's does.
 */
export function familyOfTwoGenerations(compiled: CompiledModel, levels: Uint8Array, offset: number): boolean {
  const b = compiled.birthday < 0 ? NULL_LEVEL : levels[offset + compiled.birthday]!;
  return b !== NULL_LEVEL && b >= DATE_DIFFERS && familyMembers(compiled, levels, offset);
}

/** The total match weight of a compared pair (prior included), levels as `compareRecords` wrote them. */
export function pairWeight(compiled: CompiledModel, a: PreparedRecord, b: PreparedRecord, levels: Uint8Array, offset: number): number {
  const sum = new PairSum(compiled);
  sum.start(compiled.prior + recordWeight(a, b));
  for (let c = 0; c < compiled.kinds.length; c++) {
    const level = levels[offset + c]!;
    if (level !== NULL_LEVEL) sum.add(c, level, levelWeight(compiled, c, level, a.features[c]!, b.features[c]!), level === 0 && vouches(compiled, c, a.features[c]!.v));
  }
  return sum.total(levels, offset);
}

/**
 * `pairWeight` for many pairs of one feature table: the term-frequency weights are worked out
 * once per value (by feature number) instead of once per pair.
 */
export function tableWeigher(compiled: CompiledModel, table: FeatureTable, records: readonly PreparedRecord[]): (left: number, right: number, levels: Uint8Array, offset: number) => number {
  const width = compiled.kinds.length;
  // By feature number, NaN until worked out: typed arrays, not maps, for six million pairs.
  const exact = float64s(table.byId.length).fill(Number.NaN);
  const log2Frequency = float64s(table.byId.length).fill(Number.NaN);
  const logFrequencyOf = (c: number, id: number): number => {
    let x = log2Frequency[id]!;
    if (x !== x) log2Frequency[id] = x = Math.log2(compiled.frequencies[c]!(table.byId[id]!.v));
    return x;
  };
  const adjusted = compiled.frequencies.map((f) => f !== undefined);
  // By feature number, -1 until worked out: whether exact agreement on it vouches for a move.
  const vouching = new Int8Array(table.byId.length).fill(-1);
  const near = compiled.near;
  const sum = new PairSum(compiled);
  return (left, right, levels, offset) => {
    sum.start(compiled.prior + recordWeight(records[left]!, records[right]!));
    for (let c = 0; c < width; c++) {
      const level = levels[offset + c]!;
      if (level === NULL_LEVEL) continue;
      let x: number;
      let vouched = false;
      if (level === 0 && compiled.vouchers[c] === 1) {
        const id = table.ids[left * table.width + c]!;
        let v = vouching[id]!;
        if (v < 0) vouching[id] = v = vouches(compiled, c, table.byId[id]!.v) ? 1 : 0;
        vouched = v === 1;
      }
      if (!adjusted[c]) x = compiled.weights[c]![level]!;
      else if (level !== 0) {
        x = compiled.weights[c]![level]!;
        if (near[c]![level] === 1) {
          // Never more than exact agreement on the more frequent of the two values.
          const fa = logFrequencyOf(c, table.ids[left * table.width + c]!);
          const fb = logFrequencyOf(c, table.ids[right * table.width + c]!);
          const cap = compiled.log2ExactM[c]! - (fa > fb ? fa : fb);
          if (cap < x) x = cap;
        }
      } else {
        const id = table.ids[left * table.width + c]!;
        x = exact[id]!;
        if (x !== x) exact[id] = x = exactWeight(compiled, c, table.byId[id]!.v);
      }
      sum.add(c, level, x, vouched);
    }
    return sum.total(levels, offset);
  };
}

/** Match weight (log2 of the odds) → probability. */
export function weightToProbability(weight: number): number {
  return 1 / (1 + Math.pow(2, -weight));
}

/** Probability → match weight. */
export function probabilityToWeight(probability: number): number {
  return Math.log2(probability / (1 - probability));
}

/** One attribute's part in a pair's score, for explanations. */
export interface AttributeScore {
  readonly attribute: ComparedAttribute;
  /** The agreement level (0 = exact), or null when a value is missing on either side. */
  readonly level: number | null;
  readonly label: string | null;
  /** log2(m/u) of the level, term-frequency adjustment included; 0 when missing. */
  readonly weight: number;
  /** How much the values' frequency moved the level's weight (negative: a common value). */
  readonly termFrequencyAdjustment: number;
}

export interface PairScore {
  /** log2 of the posterior odds of a match: the prior plus every attribute's weight. */
  readonly weight: number;
  readonly probability: number;
  readonly prior: number;
  readonly attributes: readonly AttributeScore[];
  /**
   * Corrections beyond the attributes' weights, included in `weight`: generations that differ,
   * a move counted once because a document or a phone agrees, a household's shared attributes counted once.
   */
  readonly evidence: readonly { readonly reason: string; readonly weight: number }[];
}

/** Scores two prepared records with every attribute's contribution. */
export function scorePrepared(model: Model, a: PreparedRecord, b: PreparedRecord): PairScore {
  const compiled = compileModel(model);
  const levels = new Uint8Array(compiled.kinds.length);
  compareRecords(compiled, a, b, levels, 0);
  const attributes = compiled.attributes.map((attribute, c): AttributeScore => {
    const level = levels[c]!;
    if (level === NULL_LEVEL) return { attribute, level: null, label: null, weight: 0, termFrequencyAdjustment: 0 };
    const plain = compiled.weights[c]![level]!;
    const weight = levelWeight(compiled, c, level, a.features[c]!, b.features[c]!);
    return { attribute, level, label: model.comparisons[c]!.levels[level]!.label, weight, termFrequencyAdjustment: weight - plain };
  });
  const evidence: { reason: string; weight: number }[] = [];
  const extra = recordWeight(a, b);
  if (extra !== 0) evidence.push({ reason: 'generations differ (Sr and Jr, II and III)', weight: extra });
  const sum = new PairSum(compiled);
  sum.start(compiled.prior + extra);
  attributes.forEach((x, c) => x.level !== null && sum.add(c, x.level, x.weight, x.level === 0 && vouches(compiled, c, a.features[c]!.v)));
  const weight = sum.total(levels, 0);
  if (sum.moved !== 0) evidence.push({ reason: 'a document or a phone agrees: the address parts that differ count once (a move)', weight: sum.moved });
  if (sum.family !== 0) evidence.push({ reason: 'family members: what the household shares counts once', weight: sum.family });
  return { weight, probability: weightToProbability(weight), prior: compiled.prior, attributes, evidence };
}

/**
 * Scores two records under a model: the total match weight, the match probability, and each
 * attribute's level and weight (what `explain` shows for a probabilistic link).
 */
export function scorePair(model: Model, a: MatchInput, b: MatchInput): PairScore {
  return scorePrepared(model, prepareFor(model, a), prepareFor(model, b));
}
