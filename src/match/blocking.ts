import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { describeRule, type BlockingKeyPart, type BlockingRule, type Model } from './model.ts';
import type { Feature, PreparedRecord } from './prepare-record.ts';
import { prepareFor, type FeatureTable } from './score.ts';

/** Separates the parts of a key; cannot occur in normalised values. */
const SEP = '\u001f';

/** The value of one key part for a feature (undefined when missing). */
export function partValue(part: BlockingKeyPart, f: Feature | undefined): string | undefined {
  if (f === undefined) return undefined;
  switch (part.transform) {
    case 'exact':
      return f.v;
    case 'phonetic': {
      const code = f.phonetic?.[0];
      return code === undefined || code === '' ? f.v : code;
    }
    case 'initial':
      return f.v.charAt(0);
    case 'prefix': {
      const compact = f.compact ?? f.v;
      return compact.length < 3 ? undefined : compact.slice(0, 3);
    }
    case 'year':
      return f.date === undefined ? undefined : String(f.date.y);
    case 'monthDay':
      return f.date === undefined || f.date.m === 0 || f.date.d === 0 ? undefined : `${f.date.m}-${f.date.d}`;
    case 'last7':
      return f.v.length < 7 ? undefined : f.v.slice(-7);
    default: {
      const never: never = part.transform;
      throw new Error(`unknown blocking transform ${String(never)}`);
    }
  }
}

/**
 * The key of `record` under rule number `ruleIndex`, or undefined when a part's value is missing
 * (a record without a birthday is found by other rules, never by one that needs it).
 */
export function ruleKey(rule: BlockingRule, ruleIndex: number, record: PreparedRecord, attributes: readonly ComparedAttribute[]): string | undefined {
  const values: string[] = [];
  for (const part of rule.parts) {
    const value = partValue(part, record.features[attributes.indexOf(part.attribute)]);
    if (value === undefined) return undefined;
    values.push(value);
  }
  if (rule.unordered === true) values.sort();
  return `${ruleIndex}:${values.join(SEP)}`;
}

/**
 * The keys under which a record is found as a candidate: two records are compared when they share
 * at least one key. This is what an index of blocking keys (the identity graph's) stores.
 */
export function blockingKeys(model: Model, record: MatchInput): string[] {
  const prepared = prepareFor(model, record);
  const attributes = model.comparisons.map((c) => c.attribute);
  const keys: string[] = [];
  model.blocking.forEach((rule, i) => {
    const key = ruleKey(rule, i, prepared, attributes);
    if (key !== undefined) keys.push(key);
  });
  return keys;
}

/**
 * The blocking key parts of a set of records, interned: each part's value per record as a number
 * (-1 when missing), computed once per part and shared by every rule that uses it. A rule's
 * blocks are then found by numbers, not by building a key string per record and rule, which is
 * what a million records and twenty rules can afford.
 */
/** Value numbers from feature numbers start here, above any dictionary number. */
const FEATURE_IDS = 1 << 28;

export class KeyParts {
  private readonly dictionary = new Map<string, number>();
  private readonly parts = new Map<string, Int32Array>();
  constructor(
    private readonly records: readonly PreparedRecord[],
    private readonly attributes: readonly ComparedAttribute[],
    /** The records' feature numbers, when they have them: read instead of the records. */
    private readonly table?: FeatureTable,
  ) {}

  /**
   * The value number of `part` for every record, -1 where it is missing. An exact part of
   * numbered features is numbered by feature (no text looked up) unless `shared`: the parts of an
   * unordered rule must number equal values of different attributes alike.
   */
  of(part: BlockingKeyPart, shared = false): Int32Array {
    const byId = part.transform === 'exact' && !shared;
    const name = `${part.attribute}.${part.transform}${byId ? '#' : ''}`;
    const known = this.parts.get(name);
    if (known !== undefined) return known;
    const c = this.attributes.indexOf(part.attribute);
    const n = this.records.length;
    const ids = new Int32Array(n).fill(-1);
    const table = this.table;
    if (c >= 0 && table !== undefined) {
      // Feature numbers in, value numbers out: a typed array read per record, one dictionary
      // lookup per distinct feature (-2: not looked up yet).
      const memo = new Map<number, number>();
      for (let i = 0; i < n; i++) {
        const fid = table.ids[i * table.width + c]!;
        if (fid < 0) continue;
        if (byId) {
          ids[i] = FEATURE_IDS + fid;
          continue;
        }
        let id = memo.get(fid);
        if (id === undefined) {
          const value = partValue(part, table.byId[fid]!);
          id = value === undefined ? -1 : this.number(value);
          memo.set(fid, id);
        }
        ids[i] = id;
      }
    } else if (c >= 0) {
      // Records prepared with one feature cache share numbered feature objects: one dictionary
      // lookup per distinct value (-2: not looked up yet).
      let top = -1;
      for (let i = 0; i < n; i++) top = Math.max(top, this.records[i]!.features[c]?.id ?? -1);
      const byFeature = new Int32Array(top + 1).fill(-2);
      const lookup = (f: Feature): number => {
        const value = partValue(part, f);
        return value === undefined ? -1 : this.number(value);
      };
      for (let i = 0; i < n; i++) {
        const f = this.records[i]!.features[c];
        if (f === undefined) continue;
        const fid = f.id;
        if (fid === undefined) ids[i] = lookup(f);
        else if (byId) ids[i] = FEATURE_IDS + fid;
        else {
          let id = byFeature[fid]!;
          if (id === -2) byFeature[fid] = id = lookup(f);
          ids[i] = id;
        }
      }
    }
    this.parts.set(name, ids);
    return ids;
  }

  private number(value: string): number {
    let id = this.dictionary.get(value);
    if (id === undefined) {
      id = this.dictionary.size;
      this.dictionary.set(value, id);
    }
    return id;
  }

  private readonly ruleBlocks = new Map<string, { readonly ids: Int32Array; readonly count: number }>();

  /** Each record's block under `rule` (numbered from 0, -1 without a key) and the number of blocks. */
  blocks(rule: BlockingRule): { readonly ids: Int32Array; readonly count: number } {
    const name = describeRule(rule);
    const known = this.ruleBlocks.get(name);
    if (known !== undefined) return known;
    const n = this.records.length;
    let result: { ids: Int32Array; count: number };
    if (rule.unordered !== true && rule.parts.length > 1) {
      // The rule without its last part is often known already (rules refined one part at a time).
      const head = this.blocks({ parts: rule.parts.slice(0, -1) });
      result = combineColumns([head.ids, this.of(rule.parts[rule.parts.length - 1]!)]);
      this.ruleBlocks.set(name, result);
      return result;
    }
    const columns = rule.parts.map((p) => this.of(p, rule.unordered === true));
    if (rule.unordered === true && columns.length > 1) {
      // Sorted per record, then numbered position by position like an ordered rule.
      const sorted = columns.map(() => new Int32Array(n));
      const values = new Int32Array(columns.length);
      for (let i = 0; i < n; i++) {
        for (let k = 0; k < columns.length; k++) values[k] = columns[k]![i]!;
        values.sort();
        for (let k = 0; k < columns.length; k++) sorted[k]![i] = values[k]!;
      }
      result = combineColumns(sorted);
    } else result = combineColumns(columns);
    this.ruleBlocks.set(name, result);
    return result;
  }
}

/**
 * Numbers the distinct tuples of several value columns (-1 = missing, which makes the whole tuple
 * missing): the columns are folded pairwise through an open-addressing table over typed arrays,
 * so a million records cost no garbage (a Map keyed by joined strings or by large numbers cost
 * more than everything else in blocking).
 */
export function combineColumns(columns: readonly Int32Array[]): { ids: Int32Array; count: number } {
  const n = columns[0]!.length;
  let ids = Int32Array.from(columns[0]!);
  let count = 0;
  if (columns.length === 1) {
    // Renumber densely (value numbers are shared by all parts and sparse for any one).
    const dense = new PairTable(n);
    for (let i = 0; i < n; i++) if (ids[i]! >= 0) ids[i] = dense.number(ids[i]!, 0);
    return { ids, count: dense.size };
  }
  for (let k = 1; k < columns.length; k++) {
    const next = columns[k]!;
    const table = new PairTable(n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const a = ids[i]!;
      const b = next[i]!;
      out[i] = a < 0 || b < 0 ? -1 : table.number(a, b);
    }
    ids = out;
    count = table.size;
  }
  return { ids, count };
}

/** Numbers pairs of non-negative integers 0, 1, 2, … in order of first appearance. */
class PairTable {
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly id: Int32Array;
  private readonly mask: number;
  size = 0;
  constructor(expected: number) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.a = new Int32Array(capacity).fill(-1);
    this.b = new Int32Array(capacity);
    this.id = new Int32Array(capacity);
    this.mask = capacity - 1;
  }
  number(x: number, y: number): number {
    let h = (Math.imul(x, 0x9e3779b1) ^ Math.imul(y + 0x7f4a7c15, 0x85ebca6b)) & this.mask;
    for (;;) {
      const k = this.a[h]!;
      if (k === -1) {
        this.a[h] = x;
        this.b[h] = y;
        this.id[h] = this.size;
        return this.size++;
      }
      if (k === x && this.b[h] === y) return this.id[h]!;
      h = (h + 1) & this.mask;
    }
  }
}

/**
 * Default blocking rules for the attributes at hand: each catches duplicates that one kind of error
 * (a typo in a name, a wrong birth date, a moved address) would hide from the others, while
 * keeping blocks small. Names are blocked on their Double Metaphone codes so that spelling
 * variants meet, and on their first three letters so that a typo the codes hear (Bauer, Bquer)
 * still meets; dates also on month and day so that a mistyped year meets.
 */
export function defaultBlockingRules(attributes: readonly ComparedAttribute[]): BlockingRule[] {
  const has = (a: ComparedAttribute): boolean => attributes.includes(a);
  const rules: BlockingRule[] = [];
  const rule = (...parts: [ComparedAttribute, BlockingKeyPart['transform']][]): void => {
    if (parts.every(([a]) => has(a))) rules.push({ parts: parts.map(([attribute, transform]) => ({ attribute, transform })) });
  };
  if (has('firstName') && has('lastName')) {
    rules.push({ parts: [{ attribute: 'firstName', transform: 'phonetic' }, { attribute: 'lastName', transform: 'phonetic' }], unordered: true });
  }
  rule(['firstName', 'prefix'], ['lastName', 'prefix']);
  rule(['birthday', 'exact']);
  rule(['lastName', 'phonetic'], ['birthday', 'year']);
  rule(['firstName', 'phonetic'], ['birthday', 'year']);
  rule(['lastName', 'prefix'], ['birthday', 'year']);
  rule(['lastName', 'phonetic'], ['birthday', 'monthDay']);
  rule(['firstName', 'phonetic'], ['birthday', 'monthDay']);
  rule(['postalCode', 'exact'], ['streetNumber', 'exact']);
  rule(['street', 'exact'], ['streetNumber', 'exact']);
  rule(['postalCode', 'exact'], ['street', 'exact']);
  rule(['postalCode', 'exact'], ['street', 'prefix']);
  rule(['city', 'exact'], ['street', 'exact']);
  rule(['postalCode', 'exact'], ['birthday', 'year']);
  rule(['address', 'exact']);
  rule(['postalCode', 'exact'], ['address', 'prefix']);
  rule(['postalCode', 'exact'], ['lastName', 'phonetic']);
  rule(['lastName', 'prefix'], ['streetNumber', 'exact']);
  rule(['city', 'exact'], ['lastName', 'phonetic']);
  rule(['city', 'exact'], ['firstName', 'phonetic']);
  rule(['email', 'exact']);
  // The subscriber number: a phone written with and without its country or area code.
  rule(['phone', 'last7']);
  rule(['nationalId', 'exact']);
  for (const a of attributes) if (a.startsWith('id:')) rule([a, 'exact']);
  if (rules.length === 0) {
    // Nothing person-like: block on each attribute alone.
    for (const a of attributes) rule([a, 'exact']);
  }
  return rules;
}

/** A refined rule must still give a key to this share of the records the rule gave one. */
const MIN_REFINED_COVERAGE = 0.8;

/** Key parts that may be added to a rule that proposes too many pairs, in order of preference. */
const REFINERS: readonly BlockingKeyPart[] = [
  { attribute: 'firstName', transform: 'initial' },
  { attribute: 'lastName', transform: 'initial' },
  { attribute: 'birthday', transform: 'year' },
  { attribute: 'postalCode', transform: 'exact' },
  { attribute: 'city', transform: 'exact' },
  { attribute: 'streetNumber', transform: 'exact' },
  { attribute: 'gender', transform: 'exact' },
];

/**
 * Pairs a rule's blocks hold (across the files for a link), blocks above `maxBlockSize` left out,
 * and how many records have a key under it.
 */
function rulePairs(parts: KeyParts, rule: BlockingRule, side: Uint8Array, link: boolean, maxBlockSize: number): { pairs: number; keyed: number } {
  const { ids, count } = parts.blocks(rule);
  let keyed = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i]! >= 0) keyed++;
  const a = new Int32Array(count);
  const b = new Int32Array(count);
  for (let i = 0; i < ids.length; i++) {
    const k = ids[i]!;
    if (k < 0) continue;
    if (link && side[i] === 1) b[k]!++;
    else a[k]!++;
  }
  let pairs = 0;
  for (let k = 0; k < count; k++) {
    if (a[k]! + b[k]! > maxBlockSize) continue;
    pairs += link ? a[k]! * b[k]! : (a[k]! * (a[k]! - 1)) / 2;
  }
  return { pairs, keyed };
}

/**
 * Rules fitted to a pair budget: a rule whose blocks would propose more than `budget` pairs gets
 * one more key part ANDed to it (the first of first-name initial, last-name initial, birth year,
 * postcode, city, house number, gender that at least 80% of the rule's records have and that
 * brings it under the budget, else the one of the first three that comes closest, and once more
 * if needed). A birthday alone blocks
 * ten thousand records into pairs of a few, and a million into blocks of forty: the rule that
 * was right for the first would propose twenty million pairs for the second. Rules under the
 * budget are kept as they are, so small inputs block exactly as before.
 */
export function fitRulesToBudget(
  rules: readonly BlockingRule[],
  parts: KeyParts,
  options: { readonly attributes: readonly ComparedAttribute[]; readonly side: Uint8Array; readonly link: boolean; readonly budget: number; readonly maxBlockSize: number },
): BlockingRule[] {
  const count = (rule: BlockingRule) => rulePairs(parts, rule, options.side, options.link, options.maxBlockSize);
  const out: BlockingRule[] = [];
  const seen = new Set<string>();
  for (let rule of rules) {
    let { pairs, keyed } = count(rule);
    for (let round = 0; round < 2 && pairs > options.budget; round++) {
      let best: { rule: BlockingRule; pairs: number; keyed: number } | undefined;
      let tries = 0;
      for (const extra of REFINERS) {
        if (!options.attributes.includes(extra.attribute) || rule.parts.some((p) => p.attribute === extra.attribute)) continue;
        const refined: BlockingRule = { ...rule, parts: [...rule.parts, extra] };
        const n = count(refined);
        // A part most of the rule's records lack would fit any budget by blocking nobody.
        if (n.keyed < keyed * MIN_REFINED_COVERAGE) continue;
        if (best === undefined || n.pairs < best.pairs) best = { rule: refined, ...n };
        const fits = n.pairs <= options.budget;
        // Each try is a pass over every record: three are enough to find a good one.
        if (fits || ++tries === 3) break;
      }
      if (best === undefined) break;
      rule = best.rule;
      pairs = best.pairs;
      keyed = best.keyed;
    }
    // Two rules can end up the same (birthday + first initial twice): keep one.
    const name = describeRule(rule);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(rule);
  }
  return out;
}

/** Candidate pairs as two parallel arrays of record indexes (left < right for a dedupe). */
export interface Candidates {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly count: number;
  /** Per rule: description and the new pairs it contributed. */
  readonly rules: readonly { readonly rule: string; readonly pairs: number }[];
  /**
   * Blocks left out because they held more than `maxBlockSize` records or were the largest of a
   * rule over its pair budget, and their records.
   */
  readonly oversizedBlocks: number;
  readonly oversizedRecords: number;
  /** Per rule, each record's block number, -1 when it has no key or its block was left out. */
  readonly blockIds?: readonly Int32Array[];
  /** Per pair, a bit for each of the first 32 rules whose blocks proposed it. */
  readonly masks?: Uint32Array;
}

class PairBuffer {
  left: Int32Array = new Int32Array(1024);
  right: Int32Array = new Int32Array(1024);
  mask: Uint32Array = new Uint32Array(1024);
  count = 0;
  push(a: number, b: number, mask: number): void {
    if (this.count === this.left.length) {
      const grow = <T extends Int32Array | Uint32Array>(x: T): T => {
        const y = new (x.constructor as new (n: number) => T)(x.length * 2);
        y.set(x);
        return y;
      };
      this.left = grow(this.left);
      this.right = grow(this.right);
      this.mask = grow(this.mask);
    }
    this.left[this.count] = a;
    this.right[this.count] = b;
    this.mask[this.count] = mask;
    this.count++;
  }
}

/** A growing list of numbers in a Float64Array. */
class NumberBuffer {
  private data = new Float64Array(1 << 16);
  private length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

export interface FindCandidatesOptions {
  readonly link: boolean;
  /** Blocks with more records are skipped. */
  readonly maxBlockSize: number;
  /**
   * A rule may propose at most this many pairs per record (default unlimited); over it, its
   * largest blocks (the least discriminating keys, such as a common name with a birth year in a
   * million records) are skipped until it fits. Bounds the cost of a rule as the input grows.
   */
  readonly maxPairsPerRecord?: number;
  /** Key parts already computed for these records and attributes. */
  readonly keyParts?: KeyParts;
}

/**
 * Every pair of records sharing a key under some rule, each pair once. For a link only pairs
 * across the two files are made. The cost is the number of pairs in the blocks, not n². A block
 * larger than `maxBlockSize` (a key so common it does not discriminate) is skipped whole, as are
 * a rule's largest blocks when it would exceed its pair budget; their records can still meet
 * through other rules. Pairs come out in record order (by left record, then right), each with
 * the rules that proposed it (`masks`).
 */
export function findCandidates(
  records: readonly PreparedRecord[],
  attributes: readonly ComparedAttribute[],
  rules: readonly BlockingRule[],
  options: FindCandidatesOptions,
): Candidates {
  const n = records.length;
  const side = new Uint8Array(n);
  for (let i = 0; i < n; i++) side[i] = records[i]!.source;
  const budget = options.maxPairsPerRecord === undefined ? Number.POSITIVE_INFINITY : options.maxPairsPerRecord * n;
  const parts = options.keyParts ?? new KeyParts(records, attributes);
  const blockIds: Int32Array[] = [];
  const out = new PairBuffer();
  const raw = new NumberBuffer();
  let oversizedBlocks = 0;
  let oversizedRecords = 0;
  rules.forEach((rule, r) => {
    // Number the blocks: block id per record, records per block on each side.
    const numbered = parts.blocks(rule);
    const ids = numbered.ids;
    const blocks = numbered.count;
    const sizeA = new Int32Array(blocks);
    const sizeB = new Int32Array(blocks);
    for (let i = 0; i < n; i++) {
      const b = ids[i]!;
      if (b < 0) continue;
      if (options.link && side[i] === 1) sizeB[b]!++;
      else sizeA[b]!++;
    }
    const pairsOf = (b: number): number => (options.link ? sizeA[b]! * sizeB[b]! : (sizeA[b]! * (sizeA[b]! - 1)) / 2);
    const skip = new Uint8Array(blocks);
    let total = 0;
    for (let b = 0; b < blocks; b++) {
      if (sizeA[b]! + sizeB[b]! > options.maxBlockSize) {
        skip[b] = 1;
        if (pairsOf(b) > 0) {
          oversizedBlocks++;
          oversizedRecords += sizeA[b]! + sizeB[b]!;
        }
      } else total += pairsOf(b);
    }
    if (total > budget) {
      const order = Array.from({ length: blocks }, (_, b) => b).filter((b) => skip[b] === 0 && pairsOf(b) > 0);
      order.sort((x, y) => pairsOf(y) - pairsOf(x) || x - y);
      for (const b of order) {
        if (total <= budget) break;
        skip[b] = 1;
        total -= pairsOf(b);
        oversizedBlocks++;
        oversizedRecords += sizeA[b]! + sizeB[b]!;
      }
    }
    for (let i = 0; i < n; i++) if (ids[i]! >= 0 && skip[ids[i]!] === 1) ids[i] = -1;
    // Records of each block together (counting sort keeps input order within a block).
    const start = new Int32Array(blocks + 1);
    for (let i = 0; i < n; i++) if (ids[i]! >= 0) start[ids[i]! + 1]!++;
    for (let b = 0; b < blocks; b++) start[b + 1]! += start[b]!;
    const members = new Int32Array(start[blocks]!);
    const fill = start.slice(0, blocks);
    for (let i = 0; i < n; i++) if (ids[i]! >= 0) members[fill[ids[i]!]!++] = i;
    // Every pair of every block, as one number: (left × n + right) × 64 + rule. Sorting them
    // brings each pair's rules together (deduplication and rule masks in one pass) and leaves
    // the pairs in record order, which the comparisons read with far fewer cache misses than in
    // block order.
    const tag = Math.min(r, 63);
    for (let b = 0; b < blocks; b++) {
      const lo = start[b]!;
      const hi = start[b + 1]!;
      if (hi - lo < 2) continue;
      for (let x = lo; x < hi; x++) {
        const i = members[x]!;
        for (let y = x + 1; y < hi; y++) {
          const j = members[y]!;
          if (options.link) {
            if (side[i] === side[j]) continue;
            raw.push(side[i] === 0 ? (i * n + j) * 64 + tag : (j * n + i) * 64 + tag);
          } else raw.push((i * n + j) * 64 + tag);
        }
      }
    }
    blockIds.push(ids);
  });
  const sorted = raw.values().sort();
  const contributed = new Array<number>(rules.length).fill(0);
  for (let k = 0; k < sorted.length; ) {
    const pair = Math.floor(sorted[k]! / 64);
    let mask = 0;
    let first = 63;
    for (; k < sorted.length && Math.floor(sorted[k]! / 64) === pair; k++) {
      const tag = sorted[k]! % 64;
      if (tag < 32) mask |= 1 << tag;
      first = Math.min(first, tag);
    }
    out.push(Math.floor(pair / n), pair % n, mask >>> 0);
    if (first < rules.length) contributed[first]!++;
  }
  const perRule = rules.map((rule, r) => ({ rule: describeRule(rule), pairs: contributed[r]! }));
  return { left: out.left, right: out.right, count: out.count, rules: perRule, oversizedBlocks, oversizedRecords, blockIds, masks: out.mask };
}

/** For each candidate pair, a bit per rule the pair satisfies (which EM sessions it belongs to). */
export function ruleMasks(
  records: readonly PreparedRecord[],
  attributes: readonly ComparedAttribute[],
  rules: readonly BlockingRule[],
  candidates: Candidates,
): Uint32Array {
  if (candidates.masks !== undefined) return candidates.masks;
  const ids =
    candidates.blockIds ??
    rules.map((rule, r) => {
      const numbering = new Map<string, number>();
      return Int32Array.from(records, (rec) => {
        const k = ruleKey(rule, r, rec, attributes);
        if (k === undefined) return -1;
        let b = numbering.get(k);
        if (b === undefined) numbering.set(k, (b = numbering.size));
        return b;
      });
    });
  const masks = new Uint32Array(candidates.count);
  const width = Math.min(rules.length, 32);
  for (let p = 0; p < candidates.count; p++) {
    const i = candidates.left[p]!;
    const j = candidates.right[p]!;
    let mask = 0;
    for (let r = 0; r < width; r++) {
      const k = ids[r]![i]!;
      if (k >= 0 && k === ids[r]![j]) mask |= 1 << r;
    }
    masks[p] = mask >>> 0;
  }
  return masks;
}
