import type { ComparedAttribute } from './attributes.ts';
import { KeyParts } from './key-parts.ts';
import { describeRule, type BlockingRule } from './model.ts';
import type { PreparedRecord } from './prepare-record.ts';
import { int32s, uint32s, uint8s } from './typed-arena.ts';

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

/** The largest input blocking takes: a pair's right record and rule share one 32-bit number. */
const MAX_RECORDS = 1 << 26;

/**
 * Every pair of records sharing a key under some rule, each pair once. For a link only pairs
 * across the two files are made. The cost is the number of pairs in the blocks, not n². A block
 * larger than `maxBlockSize` (a key so common it does not discriminate) is skipped whole, as are
 * a rule's largest blocks when it would exceed its pair budget; their records can still meet
 * through other rules. Pairs come out in record order (by left record, then right), each with
 * the rules that proposed it (`masks`).
 *
 * The pairs of all rules are first laid out by left record (each record's share is counted
 * before any pair is written, so every array is allocated once at its final size), then each
 * record's right records are sorted, which brings a pair's rules together. Typed arrays of a
 * million records are reused from rule to rule: each fresh one counts towards the next full
 * garbage collection of a heap that holds the million records.
 */
export function findCandidates(
  records: readonly PreparedRecord[],
  attributes: readonly ComparedAttribute[],
  rules: readonly BlockingRule[],
  options: FindCandidatesOptions,
): Candidates {
  const n = records.length;
  if (n > MAX_RECORDS) throw new Error(`blocking takes at most ${MAX_RECORDS} records, not ${n}`);
  const link = options.link;
  const side = uint8s(n);
  for (let i = 0; i < n; i++) side[i] = records[i]!.source;
  const budget = options.maxPairsPerRecord === undefined ? Number.POSITIVE_INFINITY : options.maxPairsPerRecord * n;
  const parts = options.keyParts ?? new KeyParts(records, attributes);
  // Per-block scratch (a rule has at most n blocks), reused by every rule.
  const sizeA = int32s(n + 1);
  const sizeB = int32s(n + 1);
  const skip = uint8s(n);
  const blockIds: Int32Array[] = [];
  let oversizedBlocks = 0;
  let oversizedRecords = 0;
  // Pass 1: each rule's blocks, the blocks it skips, and each record's pairs as the left record.
  const start = int32s(n + 1);
  rules.forEach((rule) => {
    const numbered = parts.blocks(rule);
    const ids = numbered.ids;
    const blocks = numbered.count;
    sizeA.fill(0, 0, blocks);
    sizeB.fill(0, 0, blocks);
    skip.fill(0, 0, blocks);
    for (let i = 0; i < n; i++) {
      const b = ids[i]!;
      if (b < 0) continue;
      if (link && side[i] === 1) sizeB[b]!++;
      else sizeA[b]!++;
    }
    const pairsOf = (b: number): number => (link ? sizeA[b]! * sizeB[b]! : (sizeA[b]! * (sizeA[b]! - 1)) / 2);
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
      // Largest blocks first, ties in block order: each block as pairs × blocks + (blocks - 1 -
      // block), sorted as numbers (a comparator over a million blocks costs a second a rule).
      let kept = 0;
      for (let b = 0; b < blocks; b++) if (skip[b] === 0 && pairsOf(b) > 0) kept++;
      const order = new Float64Array(kept);
      kept = 0;
      for (let b = 0; b < blocks; b++) if (skip[b] === 0 && pairsOf(b) > 0) order[kept++] = pairsOf(b) * blocks + (blocks - 1 - b);
      order.sort();
      for (let k = order.length - 1; k >= 0; k--) {
        const b = blocks - 1 - (order[k]! % blocks);
        if (total <= budget) break;
        skip[b] = 1;
        total -= pairsOf(b);
        oversizedBlocks++;
        oversizedRecords += sizeA[b]! + sizeB[b]!;
      }
    }
    for (let i = 0; i < n; i++) if (ids[i]! >= 0 && skip[ids[i]!] === 1) ids[i] = -1;
    // A record is the left record of a pair with every later member of its block (a dedupe), or
    // with every member of the other file (a link, where left records are the first file's).
    // sizeB counts the block's members seen so far in a dedupe.
    if (link) {
      for (let i = 0; i < n; i++) if (ids[i]! >= 0 && side[i] === 0) start[i + 1]! += sizeB[ids[i]!]!;
    } else {
      sizeB.fill(0, 0, blocks);
      for (let i = 0; i < n; i++) {
        const b = ids[i]!;
        if (b < 0) continue;
        start[i + 1]! += sizeA[b]! - 1 - sizeB[b]!;
        sizeB[b]!++;
      }
    }
    blockIds.push(ids);
  });
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  // Pass 2: every pair, as its right record × 64 + rule, in its left record's share.
  const keys = uint32s(start[n]!);
  const fill = int32s(n);
  fill.set(start.subarray(0, n));
  const blockStart = sizeA;
  const members = int32s(n);
  rules.forEach((_, r) => {
    const ids = blockIds[r]!;
    const blocks = parts.blocks(rules[r]!).count;
    // Records of each block together (a counting sort keeps record order within a block).
    blockStart.fill(0, 0, blocks + 1);
    for (let i = 0; i < n; i++) if (ids[i]! >= 0) blockStart[ids[i]! + 1]!++;
    for (let b = 0; b < blocks; b++) blockStart[b + 1]! += blockStart[b]!;
    const blockFill = sizeB;
    blockFill.set(blockStart.subarray(0, blocks));
    for (let i = 0; i < n; i++) if (ids[i]! >= 0) members[blockFill[ids[i]!]!++] = i;
    const tag = Math.min(r, 63);
    for (let b = 0; b < blocks; b++) {
      const lo = blockStart[b]!;
      const hi = blockStart[b + 1]!;
      for (let x = lo; x < hi - 1; x++) {
        const i = members[x]!;
        for (let y = x + 1; y < hi; y++) {
          const j = members[y]!;
          if (!link) keys[fill[i]!++] = j * 64 + tag;
          else if (side[i] !== side[j]) {
            if (side[i] === 0) keys[fill[i]!++] = j * 64 + tag;
            else keys[fill[j]!++] = i * 64 + tag;
          }
        }
      }
    }
  });
  // Each record's pairs sorted by right record, then rule; a pair's first key is its first rule.
  let count = 0;
  for (let i = 0; i < n; i++) {
    const lo = start[i]!;
    const hi = start[i + 1]!;
    sortRange(keys, lo, hi);
    for (let k = lo; k < hi; k++) if (k === lo || keys[k]! >>> 6 !== keys[k - 1]! >>> 6) count++;
  }
  const left = int32s(count);
  const right = int32s(count);
  const masks = uint32s(count);
  const contributed = new Array<number>(rules.length).fill(0);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const hi = start[i + 1]!;
    for (let k = start[i]!; k < hi; ) {
      const j = keys[k]! >>> 6;
      const first = keys[k]! & 63;
      let mask = 0;
      for (; k < hi && keys[k]! >>> 6 === j; k++) {
        const tag = keys[k]! & 63;
        if (tag < 32) mask |= 1 << tag;
      }
      left[p] = i;
      right[p] = j;
      masks[p++] = mask >>> 0;
      if (first < rules.length) contributed[first]!++;
    }
  }
  const perRule = rules.map((rule, r) => ({ rule: describeRule(rule), pairs: contributed[r]! }));
  return { left, right, count, rules: perRule, oversizedBlocks, oversizedRecords, blockIds, masks };
}

/** Sorts keys[lo, hi) in place: insertion sort for the few pairs most records have. */
function sortRange(keys: Uint32Array, lo: number, hi: number): void {
  if (hi - lo > 32) {
    keys.subarray(lo, hi).sort();
    return;
  }
  for (let x = lo + 1; x < hi; x++) {
    const v = keys[x]!;
    let y = x - 1;
    for (; y >= lo && keys[y]! > v; y--) keys[y + 1] = keys[y]!;
    keys[y + 1] = v;
  }
}
