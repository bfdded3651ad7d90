/**
 * Large typed arrays of one matching run, carved from one buffer taken when the records are
 * counted, before they are prepared.
 *
 * V8 counts every new ArrayBuffer as external memory, and past 64 MB of it since its last full
 * garbage collection it collects again, marking the whole heap in one pause. Blocking and
 * training a million records allocate some hundreds of arrays of megabytes each after the
 * prepared records fill half a gigabyte of heap: about ten pauses of 0.6–1.2 s. One buffer taken
 * while the heap is still small costs one short collection; the arrays are then views of it.
 * Pages are committed only as arrays use them, and nothing is given back before the run ends, so
 * the arena serves arrays that live about as long as the run. A run without an arena (scoring
 * one record in the identity graph) and a full arena allocate as usual.
 */

/** Arrays smaller than this are allocated as usual: the arena is for the large ones. */
const MIN_ARENA_BYTES = 1 << 16;

/** Bytes reserved per record: what a million records with a few candidate pairs each use. */
const BYTES_PER_RECORD = 1024;

/** The largest arena: past it (over four million records), arrays are allocated as usual. */
const MAX_ARENA_BYTES = 4 * 1024 ** 3;

class TypedArena {
  private readonly buffer: ArrayBuffer;
  private used = 0;
  constructor(bytes: number) {
    this.buffer = new ArrayBuffer(bytes);
  }
  /** The byte offset of `bytes` more bytes (8-aligned), or -1 when the arena is full. */
  take(bytes: number): number {
    // Arithmetic, not bit operations: offsets may pass 2^31.
    const at = Math.ceil(this.used / 8) * 8;
    if (at + bytes > this.buffer.byteLength) return -1;
    this.used = at + bytes;
    return at;
  }
  get memory(): ArrayBuffer {
    return this.buffer;
  }
}

/** The current run: whether one is open, and its arena once the records are counted. */
let run: { arena?: TypedArena } | undefined;

/** Runs `work` as one matching run: large arrays come from its arena once `reserveArena` is called. */
export function inArena<T>(work: () => T): T {
  const outer = run;
  run = {};
  try {
    return work();
  } finally {
    run = outer;
  }
}

/** Takes the arena of the current run (once, sized for `records`); no-op outside a run. */
export function reserveArena(records: number): void {
  if (run === undefined || run.arena !== undefined) return;
  try {
    run.arena = new TypedArena(Math.min(MAX_ARENA_BYTES, Math.max(1 << 20, records * BYTES_PER_RECORD)));
  } catch {
    // No address space for it (a 32-bit or tightly limited process): allocate as usual.
  }
}

function offsetFor(bytes: number): number {
  const arena = run?.arena;
  return arena === undefined || bytes < MIN_ARENA_BYTES ? -1 : arena.take(bytes);
}

/** A zero-filled Int32Array of `length`, from the run's arena when there is room. */
export function int32s(length: number): Int32Array<ArrayBuffer> {
  const at = offsetFor(length * 4);
  return at < 0 ? new Int32Array(length) : new Int32Array(run!.arena!.memory, at, length);
}

/** A zero-filled Uint32Array of `length`, from the run's arena when there is room. */
export function uint32s(length: number): Uint32Array<ArrayBuffer> {
  const at = offsetFor(length * 4);
  return at < 0 ? new Uint32Array(length) : new Uint32Array(run!.arena!.memory, at, length);
}

/** A zero-filled Uint8Array of `length`, from the run's arena when there is room. */
export function uint8s(length: number): Uint8Array<ArrayBuffer> {
  const at = offsetFor(length);
  return at < 0 ? new Uint8Array(length) : new Uint8Array(run!.arena!.memory, at, length);
}

/** A zero-filled Float64Array of `length`, from the run's arena when there is room. */
export function float64s(length: number): Float64Array<ArrayBuffer> {
  const at = offsetFor(length * 8);
  return at < 0 ? new Float64Array(length) : new Float64Array(run!.arena!.memory, at, length);
}
