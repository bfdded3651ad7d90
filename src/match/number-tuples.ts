import { int32s } from './typed-arena.ts';
/**
 * Dense numbering of value columns and of tuples of them, for blocking: each record's block is
 * the number of its tuple of key-part values. Numbers are given 0, 1, 2, … in order of first
 * appearance (record order), which rules over their pair budget rely on to break ties. A million
 * records and twenty rules make tens of these numberings, so they run over typed arrays, in
 * scratch space reused from one numbering to the next: a fresh table of tens of megabytes each
 * time is not only slow to fill, its memory counts towards the next full garbage collection of a
 * heap holding the million records.
 */

/** Reusable scratch space for numberings; one per caller (not shared between threads). */
export class NumberingScratch {
  private buffer = new Int32Array(0);

  /** `length` integers set to -1, valid until the next call. */
  cleared(length: number): Int32Array {
    if (this.buffer.length < length) {
      let size = Math.max(1024, this.buffer.length);
      while (size < length) size *= 2;
      this.buffer = int32s(size);
    }
    const view = this.buffer.subarray(0, length);
    view.fill(-1);
    return view;
  }
}

/** A direct lookup table is used while the value space is at most this many entries per record (and 65,536 at least). */
const DIRECT_PER_RECORD = 4;

/**
 * Numbers distinct pairs (x, y) of non-negative integers in order of first appearance in an
 * open-addressing table: one interleaved array of [x, y, number, -] slots, so a probe reads one
 * cache line.
 */
class PairNumbers {
  private readonly slots: Int32Array;
  private readonly mask: number;
  size = 0;
  constructor(expected: number, scratch: NumberingScratch) {
    let capacity = 1024;
    while (capacity < expected * 2) capacity *= 2;
    this.slots = scratch.cleared(capacity * 4);
    this.mask = capacity - 1;
  }
  number(x: number, y: number): number {
    const slots = this.slots;
    let h = (Math.imul(x, 0x9e3779b1) ^ Math.imul(y + 0x7f4a7c15, 0x85ebca6b)) & this.mask;
    for (;;) {
      const at = h << 2;
      const k = slots[at]!;
      if (k === -1) {
        slots[at] = x;
        slots[at + 1] = y;
        slots[at + 2] = this.size;
        return this.size++;
      }
      if (k === x && slots[at + 1] === y) return slots[at + 2]!;
      h = (h + 1) & this.mask;
    }
  }
}

/** Smallest and largest non-negative value of a column (-1 each when there is none). */
function valueRange(column: Int32Array): { min: number; max: number } {
  let min = -1;
  let max = -1;
  for (let i = 0; i < column.length; i++) {
    const v = column[i]!;
    if (v < 0) continue;
    if (min < 0 || v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

/** The values of one column numbered densely (-1 stays -1). */
function numberColumn(column: Int32Array, scratch: NumberingScratch): { ids: Int32Array; count: number } {
  const n = column.length;
  const ids = int32s(n);
  const { min, max } = valueRange(column);
  if (min < 0) return { ids: ids.fill(-1), count: 0 };
  let count = 0;
  const range = max - min + 1;
  if (range <= Math.max(DIRECT_PER_RECORD * n, 1 << 16)) {
    const seen = scratch.cleared(range);
    for (let i = 0; i < n; i++) {
      const v = column[i]!;
      if (v < 0) {
        ids[i] = -1;
        continue;
      }
      let id = seen[v - min]!;
      if (id < 0) seen[v - min] = id = count++;
      ids[i] = id;
    }
    return { ids, count };
  }
  const table = new PairNumbers(n, scratch);
  for (let i = 0; i < n; i++) ids[i] = column[i]! < 0 ? -1 : table.number(column[i]! - min, 0);
  return { ids, count: table.size };
}

/** The pairs (a, b) numbered densely, a already dense in [0, countA); -1 on either side gives -1. */
export function numberPairs(a: Int32Array, countA: number, b: Int32Array, scratch: NumberingScratch): { ids: Int32Array; count: number } {
  const n = a.length;
  const ids = int32s(n);
  const { min, max } = valueRange(b);
  if (min < 0 || countA === 0) return { ids: ids.fill(-1), count: 0 };
  const range = max - min + 1;
  const space = countA * range;
  if (space <= Math.max(DIRECT_PER_RECORD * n, 1 << 16)) {
    const seen = scratch.cleared(space);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const x = a[i]!;
      const y = b[i]!;
      if (x < 0 || y < 0) {
        ids[i] = -1;
        continue;
      }
      const at = x * range + (y - min);
      let id = seen[at]!;
      if (id < 0) seen[at] = id = count++;
      ids[i] = id;
    }
    return { ids, count };
  }
  const table = new PairNumbers(Math.min(n, space), scratch);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    ids[i] = x < 0 || y < 0 ? -1 : table.number(x, y - min);
  }
  return { ids, count: table.size };
}

/**
 * Numbers the distinct tuples of several value columns (-1 = missing, which makes the whole tuple
 * missing): the first column densely, then each further column paired with the numbers so far.
 */
export function combineColumns(columns: readonly Int32Array[], scratch = new NumberingScratch()): { ids: Int32Array; count: number } {
  let result = numberColumn(columns[0]!, scratch);
  for (let k = 1; k < columns.length; k++) result = numberPairs(result.ids, result.count, columns[k]!, scratch);
  return result;
}
