import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { describeRule, type BlockingKeyPart, type BlockingRule, type Model } from './model.ts';
import type { Feature, PreparedRecord } from './prepare-record.ts';
import { prepareFor } from './score.ts';

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
    case 'year':
      return f.date === undefined ? undefined : String(f.date.y);
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
 * Default blocking rules for the attributes at hand: each catches duplicates that one kind of error
 * (a typo in a name, a wrong birth date, a moved address) would hide from the others, while
 * keeping blocks small. Names are blocked on their Double Metaphone codes so that spelling
 * variants meet.
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
  rule(['birthday', 'exact']);
  rule(['lastName', 'phonetic'], ['birthday', 'year']);
  rule(['firstName', 'phonetic'], ['birthday', 'year']);
  rule(['postalCode', 'exact'], ['streetNumber', 'exact']);
  rule(['street', 'exact'], ['streetNumber', 'exact']);
  rule(['postalCode', 'exact'], ['street', 'exact']);
  rule(['city', 'exact'], ['street', 'exact']);
  rule(['postalCode', 'exact'], ['birthday', 'year']);
  rule(['address', 'exact']);
  rule(['postalCode', 'exact'], ['lastName', 'phonetic']);
  rule(['city', 'exact'], ['lastName', 'phonetic']);
  rule(['city', 'exact'], ['firstName', 'phonetic']);
  rule(['email', 'exact']);
  rule(['phone', 'exact']);
  rule(['nationalId', 'exact']);
  if (rules.length === 0) {
    // Nothing person-like: block on each attribute alone.
    for (const a of attributes) rule([a, 'exact']);
  }
  return rules;
}

/** Candidate pairs as two parallel arrays of record indexes (left < right for a dedupe). */
export interface Candidates {
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly count: number;
  /** Per rule: description and the new pairs it contributed. */
  readonly rules: readonly { readonly rule: string; readonly pairs: number }[];
  /** Blocks left out because they held more than `maxBlockSize` records, and their records. */
  readonly oversizedBlocks: number;
  readonly oversizedRecords: number;
}

class PairBuffer {
  left: Int32Array = new Int32Array(1024);
  right: Int32Array = new Int32Array(1024);
  count = 0;
  push(a: number, b: number): void {
    if (this.count === this.left.length) {
      const grow = (x: Int32Array): Int32Array => {
        const y = new Int32Array(x.length * 2);
        y.set(x);
        return y;
      };
      this.left = grow(this.left);
      this.right = grow(this.right);
    }
    this.left[this.count] = a;
    this.right[this.count] = b;
    this.count++;
  }
}

/**
 * Every pair of records sharing a key under some rule, each pair once. For a link only pairs
 * across the two files are made. The cost is the number of pairs in the blocks, not n². A block
 * larger than `maxBlockSize` (a key so common it does not discriminate) is skipped whole; its
 * records can still meet through other rules.
 */
export function findCandidates(
  records: readonly PreparedRecord[],
  attributes: readonly ComparedAttribute[],
  rules: readonly BlockingRule[],
  options: { readonly link: boolean; readonly maxBlockSize: number },
): Candidates {
  const keys = rules.map((rule, r) => records.map((rec) => ruleKey(rule, r, rec, attributes)));
  const oversized = rules.map(() => new Set<string>());
  const out = new PairBuffer();
  const perRule: { rule: string; pairs: number }[] = [];
  let oversizedBlocks = 0;
  let oversizedRecords = 0;
  const seenEarlier = (r: number, i: number, j: number): boolean => {
    for (let e = 0; e < r; e++) {
      const k = keys[e]![i];
      if (k !== undefined && k === keys[e]![j] && !oversized[e]!.has(k)) return true;
    }
    return false;
  };
  rules.forEach((rule, r) => {
    const before = out.count;
    const blocks = new Map<string, number[]>();
    keys[r]!.forEach((k, i) => {
      if (k === undefined) return;
      const block = blocks.get(k);
      if (block === undefined) blocks.set(k, [i]);
      else block.push(i);
    });
    for (const [k, block] of blocks) {
      if (block.length < 2) continue;
      if (block.length > options.maxBlockSize) {
        oversized[r]!.add(k);
        oversizedBlocks++;
        oversizedRecords += block.length;
        continue;
      }
      if (options.link) {
        const a = block.filter((i) => records[i]!.source === 0);
        const b = block.filter((i) => records[i]!.source === 1);
        for (const i of a) for (const j of b) if (!seenEarlier(r, i, j)) out.push(i, j);
      } else {
        for (let x = 0; x < block.length; x++) {
          const i = block[x]!;
          for (let y = x + 1; y < block.length; y++) {
            const j = block[y]!;
            if (!seenEarlier(r, i, j)) out.push(i, j);
          }
        }
      }
    }
    perRule.push({ rule: describeRule(rule), pairs: out.count - before });
  });
  return { left: out.left, right: out.right, count: out.count, rules: perRule, oversizedBlocks, oversizedRecords };
}

/** For each candidate pair, a bit per rule the pair satisfies (which EM sessions it belongs to). */
export function ruleMasks(
  records: readonly PreparedRecord[],
  attributes: readonly ComparedAttribute[],
  rules: readonly BlockingRule[],
  candidates: Candidates,
): Uint32Array {
  const keys = rules.map((rule, r) => records.map((rec) => ruleKey(rule, r, rec, attributes)));
  const masks = new Uint32Array(candidates.count);
  for (let p = 0; p < candidates.count; p++) {
    const i = candidates.left[p]!;
    const j = candidates.right[p]!;
    let mask = 0;
    for (let r = 0; r < rules.length && r < 32; r++) {
      const k = keys[r]![i];
      if (k !== undefined && k === keys[r]![j]) mask |= 1 << r;
    }
    masks[p] = mask >>> 0;
  }
  return masks;
}
