import { describe, expect, it } from 'vitest';
import { damerauLevenshtein, jaroWinkler, jaroWinklerAtLeast, withinOneEdit } from './string-distance.ts';

describe('jaroWinkler', () => {
  it('gives the published values (Winkler 1990)', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.9611, 4);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 2);
    expect(jaroWinkler('dixon', 'dicksonx')).toBeCloseTo(0.8133, 4);
  });
  it('is 1 for equal strings, 0 without common characters or with an empty side', () => {
    expect(jaroWinkler('smith', 'smith')).toBe(1);
    expect(jaroWinkler('abc', 'xyz')).toBe(0);
    expect(jaroWinkler('', 'abc')).toBe(0);
  });
  it('is symmetric', () => {
    expect(jaroWinkler('catherine', 'kathryn')).toBeCloseTo(jaroWinkler('kathryn', 'catherine'), 12);
  });
});

describe('damerauLevenshtein', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions as one edit each', () => {
    expect(damerauLevenshtein('smith', 'smyth')).toBe(1);
    expect(damerauLevenshtein('smith', 'smtih')).toBe(1);
    expect(damerauLevenshtein('smith', 'smithe')).toBe(1);
    expect(damerauLevenshtein('smith', 'mith')).toBe(1);
    expect(damerauLevenshtein('kitten', 'sitting')).toBe(3);
    expect(damerauLevenshtein('', 'abc')).toBe(3);
  });
  it('is the restricted (optimal string alignment) distance', () => {
    expect(damerauLevenshtein('ca', 'abc')).toBe(3);
  });
  it('stops early above max', () => {
    expect(damerauLevenshtein('abcdef', 'uvwxyz', 1)).toBe(2);
    expect(damerauLevenshtein('a', 'abcdef', 2)).toBe(3);
  });
});

describe('fast checks agree with the full measures', () => {
  const words = ['smith', 'smyth', 'smtih', 'smithe', 'mith', 'kitten', 'sitting', '', 'a', 'ab', 'ba', 'abc', 'acb', 'bac', 'ca', 'main street', 'mian street', 'main stret', '12 main street', '21 main street', 'müller', 'mueller'];
  it('withinOneEdit is damerauLevenshtein(a, b, 1) <= 1', () => {
    for (const a of words) for (const b of words) expect(withinOneEdit(a, b), `${a} / ${b}`).toBe(damerauLevenshtein(a, b, 1) <= 1);
  });
  it('jaroWinklerAtLeast is jaroWinkler(a, b) >= t', () => {
    for (const t of [0.5, 0.85, 0.9, 0.95]) for (const a of words) for (const b of words) expect(jaroWinklerAtLeast(a, b, t), `${a} / ${b} ≥ ${t}`).toBe(jaroWinkler(a, b) >= t);
  });
  it('jaroWinklerAtLeast agrees on random strings sharing prefixes and letters', () => {
    // Strings over a small alphabet with a shared start: the bound's prefix bonus and its
    // common-character count are both exercised, near every threshold.
    let seed = 7;
    const next = (k: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % k;
    };
    const word = (stem: string): string => stem.slice(0, next(stem.length + 1)) + Array.from({ length: next(9) }, () => 'abcdeé '[next(7)]).join('');
    for (let k = 0; k < 4000; k++) {
      const stem = Array.from({ length: 6 }, () => 'abcd'[next(4)]).join('');
      const a = word(stem);
      const b = word(stem);
      for (const t of [0.7, 0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.95]) expect(jaroWinklerAtLeast(a, b, t), `${a} / ${b} ≥ ${t}`).toBe(jaroWinkler(a, b) >= t);
    }
  });
});
