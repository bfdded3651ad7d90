import { setFlagsFromString } from 'node:v8';

/**
 * Keeps a long batch job's memory flat (`kith import` of a multi-gigabyte file). V8's defaults
 * trade memory for speed: young generations of up to 16 MB semispaces per thread, and an old
 * generation allowed to grow to several times its live size between collections (measured on a
 * 200k-row import: 35 MB live on the main thread and 25 MB on the resolver's became 90 and 80 MB).
 * Both flags are read when they are needed rather than at start-up: the semispace limit when a
 * thread's heap is created (so it binds the resolver worker, started on the first write, but not
 * the main thread, whose heap already exists), the growth factor at every garbage collection of
 * every thread. The price is more frequent collections, mostly on V8's helper threads.
 */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

const SEMI_SPACE_MB = 4;
/** The old generation may grow to 1.35 × its live size before the next full collection. */
const HEAP_GROWING_PERCENT = 35;
