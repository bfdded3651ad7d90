import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { fitRulesToBudget } from './blocking.ts';
import { findCandidates, type Candidates } from './candidate-pairs.ts';
import { KeyParts } from './key-parts.ts';
import type { BlockingRule } from './model.ts';
import type { DateOrder } from './normalise.ts';
import { TF_MAX_VALUES } from './model.ts';
import { comparedAttributes, featureCache, kindOf, prepareRecord, type ComparisonKind, type Feature, type PreparedRecord } from './prepare-record.ts';
import { memoComparer, nameMiddles, namePartners, remembersLevels, type FeatureTable } from './score.ts';
import { int32s, reserveArena, uint8s } from './typed-arena.ts';

/** Records to dedupe (one list) or to link (two lists). */
export type MatchData = readonly MatchInput[] | { readonly left: readonly MatchInput[]; readonly right: readonly MatchInput[] };

/**
 * The records, or a function that reads them, called once. Given a function (and not keeping
 * its result), the caller lets the raw inputs go once they are prepared: at a million records
 * they are some ten million objects, which every full garbage collection of the rest of the run
 * would otherwise mark again (about 7 s of a one-minute run).
 */
export type MatchSource = MatchData | (() => MatchData);

/**
 * The working set of one matching run: prepared records, candidate pairs from blocking and their
 * comparison levels. Training and scoring share it, so each pair is compared once.
 */
export interface MatchSession {
  readonly link: boolean;
  readonly attributes: readonly ComparedAttribute[];
  readonly kinds: readonly ComparisonKind[];
  readonly partners: readonly number[];
  /** For the last name, the middle name's index (see `nameMiddles`); else -1. */
  readonly middles: readonly number[];
  readonly records: readonly PreparedRecord[];
  readonly rules: readonly BlockingRule[];
  readonly candidates: Candidates;
  /** Levels of candidate pair p at [p * attributes.length, (p + 1) * attributes.length). */
  readonly levels: Uint8Array;
  /** The records' blocking key parts, for further blocking over the same records. */
  readonly keyParts: KeyParts;
  /** The records' features by number. */
  readonly table: FeatureTable;
  /**
   * Writes the levels of records i and j (indexes into `records`) at `out[offset…]`, remembering
   * the levels of value pairs across calls (see `memoComparer`).
   */
  readonly compare: (i: number, j: number, out: Uint8Array, offset: number) => void;
  /** Seconds spent preparing the records, blocking, and comparing the candidate pairs. */
  readonly seconds: { readonly prepare: number; readonly block: number; readonly compare: number };
}

export interface SessionOptions {
  /** The attributes to compare; default: every attribute some record has. */
  readonly attributes?: readonly ComparedAttribute[];
  readonly dateOrder: DateOrder;
  readonly rules: (attributes: readonly ComparedAttribute[]) => readonly BlockingRule[];
  readonly maxBlockSize: number;
  /**
   * Each rule may propose at most this many pairs per record, and at least `MIN_RULE_BUDGET`
   * (default unlimited): rules over it get more key parts when `fitRules` (see
   * `fitRulesToBudget`), and then lose their largest blocks (see `findCandidates`).
   */
  readonly maxPairsPerRecord?: number;
  readonly fitRules?: boolean;
}

/** The smallest pair budget of a rule: inputs of up to a hundred thousand records block as they are. */
export const MIN_RULE_BUDGET = 250_000;

/** The attributes present in at least one record, in the matcher's order. */
export function attributesOf(data: MatchData): ComparedAttribute[] {
  const seen = new Set<keyof MatchInput['values']>();
  const scan = (rows: readonly MatchInput[]): void => {
    for (const r of rows) for (const [k, v] of Object.entries(r.values)) if (v !== undefined && v !== '') seen.add(k as keyof MatchInput['values']);
  };
  if (Array.isArray(data)) scan(data as readonly MatchInput[]);
  else {
    const d = data as { left: readonly MatchInput[]; right: readonly MatchInput[] };
    scan(d.left);
    scan(d.right);
  }
  return comparedAttributes(seen);
}

/** Records above which rules are fitted on an even sample of them (see `fitRules`). */
const FIT_SAMPLE = 200_000;

/**
 * `fitRulesToBudget` over the records, or over an even sample of them when there are many: pairs
 * in blocks grow with the square of the records, so a sample of s of n records measures a rule
 * against the budget × (s/n)², and block sizes against maxBlockSize × s/n, at a fraction of the
 * cost of trying each refinement on every record.
 */
function fitRules(
  rules: readonly BlockingRule[],
  records: readonly PreparedRecord[],
  keyParts: KeyParts,
  options: {
    readonly attributes: readonly ComparedAttribute[];
    readonly table: FeatureTable;
    readonly side: Uint8Array;
    readonly link: boolean;
    readonly budget: number;
    readonly maxBlockSize: number;
  },
): BlockingRule[] {
  const n = records.length;
  if (n <= FIT_SAMPLE) return fitRulesToBudget(rules, keyParts, options);
  const step = n / FIT_SAMPLE;
  const sample: PreparedRecord[] = [];
  const { width, byId } = options.table;
  const ids = new Int32Array(FIT_SAMPLE * width);
  for (let k = 0; k < FIT_SAMPLE; k++) {
    const i = Math.floor(k * step);
    sample.push(records[i]!);
    ids.set(options.table.ids.subarray(i * width, (i + 1) * width), k * width);
  }
  const share = sample.length / n;
  return fitRulesToBudget(rules, new KeyParts(sample, options.attributes, { width, ids, byId }), {
    ...options,
    side: Uint8Array.from(sample, (r) => r.source),
    budget: options.budget * share * share,
    maxBlockSize: Math.max(2, options.maxBlockSize * share),
  });
}

/**
 * Sets `seen` on every name feature: how many records carry that name. Like the term-frequency
 * tables a model keeps (`TF_MAX_VALUES` values per comparison), only the most frequent values
 * count; past those a name counts as seen once, so a session and a model read from it agree.
 */
function countNames(table: FeatureTable, kinds: readonly ComparisonKind[]): void {
  const { width, ids, byId } = table;
  const counts = int32s(byId.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (id >= 0 && kinds[k % width] === 'name') counts[id]!++;
  }
  const byComparison = kinds.map((): number[] => []);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (id < 0 || counts[id]! <= 0) continue;
    byComparison[k % width]!.push(counts[id]!);
    counts[id] = -counts[id]!;
  }
  const cutoff = byComparison.map((xs) => (xs.length <= TF_MAX_VALUES ? 0 : xs.sort((a, b) => b - a)[TF_MAX_VALUES - 1]!));
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (id < 0 || counts[id]! >= 0) continue;
    const n = -counts[id]!;
    counts[id] = 0;
    (byId[id] as Feature).seen = n >= cutoff[k % width]! ? n : 1;
  }
}

/**
 * Prepares every record with one feature cache, laying out their feature numbers (the feature
 * table) as it goes, while each record's features are still in the processor's cache: a second
 * pass over a million records, reading features spread over the heap, costs seconds.
 */
function prepareAll(data: MatchData, attributes: readonly ComparedAttribute[], dateOrder: DateOrder): { records: PreparedRecord[]; table: FeatureTable } {
  const lists: [readonly MatchInput[], 0 | 1][] = Array.isArray(data)
    ? [[data as readonly MatchInput[], 0]]
    : [
        [(data as { left: readonly MatchInput[] }).left, 0],
        [(data as { right: readonly MatchInput[] }).right, 1],
      ];
  const width = attributes.length;
  const n = lists.reduce((sum, [rows]) => sum + rows.length, 0);
  const ids = int32s(n * width).fill(-1);
  const byId: Feature[] = [];
  const records: PreparedRecord[] = [];
  const cache = featureCache(attributes);
  for (const [rows, source] of lists) {
    const read = { dateOrder, cache, source };
    for (const input of rows) {
      const record = prepareRecord(input, attributes, read);
      const at = records.length * width;
      for (let c = 0; c < width; c++) {
        const f = record.features[c];
        if (f === undefined) continue;
        // Every feature of a cache is numbered; numbers are given in order, so byId grows densely.
        const id = f.id!;
        ids[at + c] = id;
        if (id >= byId.length) byId[id] = f;
      }
      records.push(record);
    }
  }
  return { records, table: { width, ids, byId } };
}

/** Pairs compared per batch (see `compareAll`). */
const TOUCH_BATCH = 128;

/**
 * Compares every candidate pair into `levels`. Pairs come in record order, so a pair's left
 * record is in the processor's cache and its right record, anywhere in a heap of a million
 * records, is not: each comparison begins by waiting for memory. A batch's right-hand values are
 * first read in a loop of independent loads, whose cache misses the processor overlaps, and then
 * compared (about an eighth less time at a million records; the levels are the same). Only the
 * values of `touch` columns are read ahead: those whose levels are not remembered (emails,
 * phones, addresses: nearly every one distinct), since a remembered level needs no value.
 * Returns the sum of the lengths read, so the reads cannot be optimised away.
 */
function compareAll(candidates: Candidates, table: FeatureTable, touch: readonly number[], compare: (i: number, j: number, out: Uint8Array, offset: number) => void, levels: Uint8Array): number {
  const { ids, byId, width } = table;
  const { left, right, count } = candidates;
  let touched = 0;
  for (let start = 0; start < count; start += TOUCH_BATCH) {
    const end = Math.min(count, start + TOUCH_BATCH);
    for (let p = start; p < end; p++) {
      const at = right[p]! * width;
      for (let k = 0; k < touch.length; k++) {
        const x = ids[at + touch[k]!]!;
        if (x >= 0) touched += byId[x]!.v.length;
      }
    }
    for (let p = start; p < end; p++) compare(left[p]!, right[p]!, levels, p * width);
  }
  return touched;
}

/**
 * Reads the source (calling it, when it is a function) and prepares its records. Nothing returned
 * refers to the inputs: once this returns they are garbage unless the caller keeps them. Seconds
 * count from the inputs read to the records prepared.
 */
function prepareSource(
  source: MatchSource,
  options: Pick<SessionOptions, 'attributes' | 'dateOrder'>,
): { link: boolean; attributes: readonly ComparedAttribute[]; records: PreparedRecord[]; table: FeatureTable; seconds: number } {
  const data = typeof source === 'function' ? source() : source;
  const t = performance.now();
  const link = !Array.isArray(data);
  // The run's large arrays are taken now, while the heap holds little but the inputs.
  reserveArena(link ? (data as { left: readonly MatchInput[] }).left.length + (data as { right: readonly MatchInput[] }).right.length : (data as readonly MatchInput[]).length);
  const attributes = options.attributes ?? attributesOf(data);
  if (attributes.length === 0) throw new Error('no attribute to compare: map at least one column to a matcher attribute');
  const { records, table } = prepareAll(data, attributes, options.dateOrder);
  countNames(table, attributes.map(kindOf));
  return { link, attributes, records, table, seconds: (performance.now() - t) / 1000 };
}

/** Prepares the records, finds candidate pairs and compares each of them. */
export function openSession(source: MatchSource, options: SessionOptions): MatchSession {
  const clock = (): number => performance.now() / 1000;
  const { link, attributes, records, table, seconds: prepare } = prepareSource(source, options);
  let t = clock();
  const keyParts = new KeyParts(records, attributes, table);
  const budget = options.maxPairsPerRecord === undefined ? undefined : Math.max(MIN_RULE_BUDGET, options.maxPairsPerRecord * records.length);
  const side = Uint8Array.from(records, (r) => r.source);
  const given = options.rules(attributes);
  const rules = budget !== undefined && options.fitRules === true ? fitRules(given, records, keyParts, { attributes, table, side, link, budget, maxBlockSize: options.maxBlockSize }) : given;
  const candidates = findCandidates(records, attributes, rules, {
    link,
    maxBlockSize: options.maxBlockSize,
    keyParts,
    ...(budget === undefined ? {} : { maxPairsPerRecord: budget / Math.max(records.length, 1) }),
  });
  const block = clock() - t;
  t = clock();
  const kinds = attributes.map(kindOf);
  const partners = namePartners(attributes);
  const middles = nameMiddles(attributes);
  const width = attributes.length;
  const levels = uint8s(candidates.count * width);
  const compare = memoComparer({ kinds, partners, middles }, table);
  const touch = kinds.flatMap((kind, c) => (remembersLevels(kind) ? [] : [c]));
  compareAll(candidates, table, touch, compare, levels);
  const seconds = { prepare, block, compare: clock() - t };
  return { link, attributes, kinds, partners, middles, records, rules, candidates, levels, keyParts, table, compare, seconds };
}
