import { describe, expect, it } from 'vitest';
import { compressPatterns, countPatterns, countPatternsByMask, expectationMaximisation, indexPatterns } from './em.ts';

/**
 * A known case: three comparisons with two or three levels, pairs drawn from known m, u and λ.
 * EM with u fixed must recover m and λ.
 */
describe('expectationMaximisation', () => {
  const m = [
    [0.9, 0.1],
    [0.7, 0.2, 0.1],
    [0.8, 0.15, 0.05],
  ];
  const u = [
    [0.05, 0.95],
    [0.01, 0.09, 0.9],
    [0.02, 0.08, 0.9],
  ];
  const lambda = 0.1;

  function draw(): { levels: Uint8Array; width: number; count: number } {
    let state = 42;
    const rand = (): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    const pick = (p: readonly number[]): number => {
      let x = rand();
      for (let i = 0; i < p.length; i++) {
        x -= p[i]!;
        if (x < 0) return i;
      }
      return p.length - 1;
    };
    const count = 40_000;
    const levels = new Uint8Array(count * 3);
    for (let p = 0; p < count; p++) {
      const match = rand() < lambda;
      for (let c = 0; c < 3; c++) levels[p * 3 + c] = pick((match ? m : u)[c]!);
      // Some values are missing: they must not bias anything.
      if (rand() < 0.1) levels[p * 3 + 2] = 255;
    }
    return { levels, width: 3, count };
  }

  it('recovers m and λ from pairs drawn with them', () => {
    const { levels, width, count } = draw();
    const patterns = compressPatterns(levels, width, () => true, count);
    expect(patterns.length).toBeLessThanOrEqual(2 * 3 * 4);
    const result = expectationMaximisation({
      patterns,
      levelCounts: [2, 3, 3],
      fixed: new Set(),
      u,
      m: [
        [0.6, 0.4],
        [0.5, 0.3, 0.2],
        [0.5, 0.3, 0.2],
      ],
      lambda: 0.3,
      missing: 255,
    });
    expect(result.converged).toBe(true);
    expect(result.lambda).toBeCloseTo(lambda, 2);
    for (let c = 0; c < 3; c++) for (let l = 0; l < m[c]!.length; l++) expect(Math.abs(result.m[c]![l]! - m[c]![l]!)).toBeLessThan(0.03);
  });

  it('takes pairs outside the patterns as non-matches when given the population', () => {
    const { levels, width, count } = draw();
    const patterns = compressPatterns(levels, width, () => true, count);
    const result = expectationMaximisation({ patterns, levelCounts: [2, 3, 3], fixed: new Set(), u, m, lambda: 0.1, population: count * 10, missing: 255 });
    expect(result.lambda).toBeCloseTo(lambda / 10, 2);
  });

  it('indexes patterns once and counts them per subset as compressPatterns does', () => {
    const { levels, width, count } = draw();
    const index = indexPatterns(levels, width, count, [2, 3, 3], 255);
    const key = (ps: { levels: Uint8Array; count: number }[]) => new Map(ps.map((p) => [p.levels.join(','), p.count]));
    expect(key(countPatterns(index))).toEqual(key(compressPatterns(levels, width, () => true, count)));
    const masks = Uint32Array.from({ length: count }, (_, p) => (p % 3 === 0 ? 1 : 0) | (p % 2 === 0 ? 2 : 0));
    const [odd, even] = countPatternsByMask(index, masks, 2);
    expect(key(odd!)).toEqual(key(compressPatterns(levels, width, (p) => p % 3 === 0, count)));
    expect(key(even!)).toEqual(key(compressPatterns(levels, width, (p) => p % 2 === 0, count)));
  });

  it('keeps pairs with the same levels but different term-frequency factors apart', () => {
    const levels = Uint8Array.from([0, 1, 0, 1, 0, 1]);
    const index = indexPatterns(levels, 2, 3, [2, 2], 255, Float64Array.from([0, Math.log(1 / 50), 0.01]));
    const patterns = countPatterns(index);
    // Pairs 0 and 2 round to one pattern (0 and 0.01); pair 1 (a value 50 times as common as average) is its own.
    expect(patterns.map((p) => p.count).sort()).toEqual([1, 2]);
    expect(patterns.find((p) => p.count === 1)!.logFactor).toBeCloseTo(Math.log(1 / 50), 0);
  });

  it('counts a pair agreeing on a common value as less likely a match', () => {
    const { levels, width, count } = draw();
    const plain = compressPatterns(levels, width, () => true, count);
    const common = plain.map((p) => ({ ...p, logFactor: p.levels[0] === 0 ? Math.log(1 / 20) : 0 }));
    const run = (patterns: typeof plain) => expectationMaximisation({ patterns, levelCounts: [2, 3, 3], fixed: new Set([0]), u, m, lambda: 0.1, missing: 255 });
    expect(run(common).expectedMatches).toBeLessThan(run(plain).expectedMatches * 0.8);
  });

  it('leans on the prior when few matches speak, on the data when many do', () => {
    const { levels, width, count } = draw();
    const all = compressPatterns(levels, width, () => true, count);
    const few = compressPatterns(levels, width, (p) => p < 200, count);
    const prior = [[0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]];
    const run = (patterns: typeof all) =>
      expectationMaximisation({ patterns, levelCounts: [2, 3, 3], fixed: new Set(), u, m, lambda: 0.1, missing: 255, prior, priorStrength: 50 });
    // About 20 matches among 200 pairs against 50 pseudo-matches of 0.5: m of agreement falls
    // well below 0.9; among 40,000 pairs (4,000 matches) the prior hardly moves it.
    expect(run(few).m[0]![0]!).toBeLessThan(0.75);
    expect(Math.abs(run(all).m[0]![0]! - 0.9)).toBeLessThan(0.03);
  });

  it('leaves fixed comparisons alone', () => {
    const { levels, width, count } = draw();
    const patterns = compressPatterns(levels, width, () => true, count);
    const start = [[0.5, 0.5], m[1]!, m[2]!];
    const result = expectationMaximisation({ patterns, levelCounts: [2, 3, 3], fixed: new Set([0]), u, m: start, lambda: 0.2, missing: 255 });
    expect(result.m[0]).toEqual([0.5, 0.5]);
  });
});
