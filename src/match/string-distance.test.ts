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
});
