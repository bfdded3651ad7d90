import { describe, expect, it } from 'vitest';
import { float64s, inArena, int32s, reserveArena, uint8s } from './typed-arena.ts';

/** Whether an array has a buffer of its own (not a view of an arena). */
const own = (x: ArrayBufferView): boolean => x.buffer.byteLength === x.byteLength;

describe('typed arena', () => {
  it('gives large arrays as disjoint zero-filled views of one buffer during a run', () => {
    inArena(() => {
      reserveArena(10_000);
      const a = int32s(100_000);
      const b = float64s(20_000);
      const c = uint8s(70_000);
      expect(own(a)).toBe(false);
      expect(a.buffer).toBe(b.buffer);
      expect(b.buffer).toBe(c.buffer);
      expect(b.byteOffset % 8).toBe(0);
      expect(a.every((x) => x === 0) && b.every((x) => x === 0) && c.every((x) => x === 0)).toBe(true);
      a.fill(7);
      c.fill(9);
      expect(b.every((x) => x === 0)).toBe(true);
      expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
      expect(c.byteOffset).toBeGreaterThanOrEqual(b.byteOffset + b.byteLength);
    });
  });

  it('allocates as usual outside a run, for small arrays, and when the arena is full', () => {
    expect(own(int32s(100_000))).toBe(true);
    inArena(() => {
      reserveArena(1); // the smallest arena, 1 MB
      const small = int32s(10);
      const big = int32s(200_000); // 800 KB: fits
      const over = int32s(200_000); // does not fit any more
      expect(own(small)).toBe(true);
      expect(own(big)).toBe(false);
      expect(own(over)).toBe(true);
      expect(over.length).toBe(200_000);
    });
  });

  it('ends the run when the work ends, even by an error', () => {
    expect(() =>
      inArena(() => {
        reserveArena(1000);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(own(int32s(100_000))).toBe(true);
    const outer = inArena(() => {
      reserveArena(1000);
      const inner = inArena(() => int32s(100_000)); // an inner run without records: no arena
      return { inner, after: int32s(100_000) };
    });
    expect(own(outer.inner)).toBe(true);
    expect(own(outer.after)).toBe(false);
  });
});
