import { int32s } from './typed-arena.ts';
/**
 * Expectation–maximisation for the m probabilities of a Fellegi–Sunter model, with u fixed (it is
 * estimated from random pairs) and λ free. Pairs are compressed into distinct comparison patterns
 * with counts first, so an iteration costs the number of patterns, not of pairs.
 */

/**
 * A comparison pattern (a level per comparison, `missing` for a missing value) and how often it
 * occurs. `logFactor` (natural log, default 0) multiplies the pattern's likelihood ratio: the
 * term-frequency adjustment of its exact agreements (see `indexPatterns`).
 */
export interface Pattern {
  readonly levels: Uint8Array;
  readonly count: number;
  readonly logFactor?: number;
}

export interface EmInput {
  readonly patterns: readonly Pattern[];
  /** Number of levels of each comparison. */
  readonly levelCounts: readonly number[];
  /** Comparisons left out of this session (those its blocking rule agrees on by construction). */
  readonly fixed: ReadonlySet<number>;
  /** u per comparison and level (never 0). */
  readonly u: readonly (readonly number[])[];
  /** Starting m per comparison and level. */
  readonly m: readonly (readonly number[])[];
  readonly lambda: number;
  /**
   * All pairs of the population the patterns were drawn from, when that is more than the patterns
   * hold: pairs outside the patterns (those blocking did not propose) are taken as non-matches, so
   * λ is the expected matches over this. Without it, λ is the share of matches in the patterns.
   */
  readonly population?: number;
  readonly missing: number;
  /**
   * Prior m per comparison and level and its strength in pseudo-matches (default none): each
   * M-step adds `priorStrength × prior` to the expected counts, so a session with few matches
   * (a file of a hundred records) leans on the prior and a large one on its data.
   */
  readonly prior?: readonly (readonly number[])[];
  readonly priorStrength?: number;
  readonly maxIterations?: number;
  readonly tolerance?: number;
}

export interface EmResult {
  readonly m: number[][];
  readonly lambda: number;
  /** Expected number of matching pairs among the session's pairs. */
  readonly expectedMatches: number;
  readonly iterations: number;
  readonly converged: boolean;
}

/** Keeps every m strictly positive so that no level can veto a pair on its own. */
const M_FLOOR = 1e-6;

/** Runs EM until no parameter moves more than `tolerance` (default 1e-6) or `maxIterations` (100). */
export function expectationMaximisation(input: EmInput): EmResult {
  const { patterns, levelCounts, fixed, u, missing } = input;
  const maxIterations = input.maxIterations ?? 100;
  const tolerance = input.tolerance ?? 1e-6;
  const comparisons = levelCounts.length;
  let m = input.m.map((row) => [...row]);
  let lambda = input.lambda;
  const logU = u.map((row) => row.map(Math.log));
  const strength = input.prior === undefined ? 0 : (input.priorStrength ?? 0);
  let iterations = 0;
  let converged = false;
  let expectedMatches = 0;
  while (iterations < maxIterations) {
    iterations++;
    const logM = m.map((row) => row.map(Math.log));
    const acc = levelCounts.map((n) => new Array<number>(n).fill(0));
    let matches = 0;
    let total = 0;
    const logPrior = Math.log(lambda);
    const logPriorNon = Math.log(1 - lambda);
    for (const { levels, count, logFactor } of patterns) {
      let lm = logPrior + (logFactor ?? 0);
      let lu = logPriorNon;
      for (let c = 0; c < comparisons; c++) {
        const l = levels[c]!;
        if (l === missing || fixed.has(c)) continue;
        lm += logM[c]![l]!;
        lu += logU[c]![l]!;
      }
      // Posterior probability of a match, computed stably from the log odds.
      const p = 1 / (1 + Math.exp(lu - lm));
      const w = p * count;
      matches += w;
      total += count;
      for (let c = 0; c < comparisons; c++) {
        const l = levels[c]!;
        if (l === missing || fixed.has(c)) continue;
        acc[c]![l]! += w;
      }
    }
    let delta = 0;
    if (strength > 0) acc.forEach((row, c) => row.forEach((_, l) => (row[l]! += strength * input.prior![c]![l]!)));
    const next = acc.map((row, c) => {
      if (fixed.has(c)) return m[c]!;
      const sum = row.reduce((s, x) => s + x, 0);
      if (sum <= 0) return m[c]!;
      const raw = row.map((x) => Math.max(x / sum, M_FLOOR));
      const norm = raw.reduce((s, x) => s + x, 0);
      return raw.map((x) => x / norm);
    });
    for (let c = 0; c < comparisons; c++) for (let l = 0; l < next[c]!.length; l++) delta = Math.max(delta, Math.abs(next[c]![l]! - m[c]![l]!));
    const denominator = input.population ?? total;
    const nextLambda = Math.min(Math.max(denominator > 0 ? matches / denominator : lambda, 1e-12), 1 - 1e-9);
    // λ can be tiny (1e-5 and below), so its change is measured relative to itself.
    delta = Math.max(delta, Math.abs(nextLambda - lambda) / lambda);
    m = next;
    lambda = nextLambda;
    expectedMatches = matches;
    if (delta < tolerance) {
      converged = true;
      break;
    }
  }
  return { m, lambda, expectedMatches, iterations, converged };
}

/** Groups pairs' level vectors (stride `comparisons`) into distinct patterns with counts. */
export function compressPatterns(levels: Uint8Array, comparisons: number, select: (pair: number) => boolean, pairs: number): Pattern[] {
  const counts = new Map<string, { levels: Uint8Array; count: number }>();
  for (let p = 0; p < pairs; p++) {
    if (!select(p)) continue;
    const row = levels.subarray(p * comparisons, (p + 1) * comparisons);
    const key = String.fromCharCode(...row);
    const hit = counts.get(key);
    if (hit === undefined) counts.set(key, { levels: row.slice(), count: 1 });
    else hit.count++;
  }
  return [...counts.values()];
}

/** Every pair's pattern number and the distinct patterns (see `indexPatterns`). */
export interface PatternIndex {
  /** Pattern number of each pair. */
  readonly of: Int32Array;
  /** Levels of each distinct pattern. */
  readonly levels: readonly Uint8Array[];
  /** Likelihood-ratio factor (natural log) of each distinct pattern; all 0 without factors. */
  readonly logFactors: Float64Array;
}

/**
 * Steps per natural-log unit that pair factors are rounded to (one step is about 1.4 bits). Finer
 * steps multiply the patterns EM iterates over for no gain (quarter steps: 100,000 generated
 * records train 25% slower, the same F1 everywhere).
 */
const FACTOR_STEPS = 1;
/** Pair factors are clamped to ±this (natural log) before rounding. */
const FACTOR_LIMIT = 12;

/**
 * Numbers the distinct level vectors of `pairs` pairs (stride `comparisons`) once, so that EM
 * sessions over subsets of the pairs count patterns with a pass over an integer array instead of
 * building a string per pair and session. `levelCounts` bounds each comparison's levels (`missing`
 * is one more); vectors are packed into one number when the product of those fits.
 *
 * `factors`, when given, is each pair's likelihood-ratio adjustment (natural log): term
 * frequencies make agreeing on "smith" weaker evidence than agreeing on "szczepanski", which the
 * levels alone cannot say. Factors are rounded (see `FACTOR_STEPS`) and are part of a pattern, so
 * pairs sharing levels but not rarity are told apart at the cost of more patterns.
 */
export function indexPatterns(levels: Uint8Array, comparisons: number, pairs: number, levelCounts: readonly number[], missing: number, factors?: Float32Array | Float64Array): PatternIndex {
  const of = int32s(pairs);
  const distinct: Uint8Array[] = [];
  const logFactors: number[] = [];
  const buckets = factors === undefined ? 1 : 2 * FACTOR_LIMIT * FACTOR_STEPS + 1;
  let space = buckets;
  for (const n of levelCounts) space *= n + 1;
  const numeric = space <= 2 ** 52;
  const numbering = new Map<number | string, number>();
  for (let p = 0; p < pairs; p++) {
    const base = p * comparisons;
    const bucket = factors === undefined ? 0 : Math.round((Math.min(Math.max(factors[p]!, -FACTOR_LIMIT), FACTOR_LIMIT) + FACTOR_LIMIT) * FACTOR_STEPS);
    let key: number | string;
    if (numeric) {
      let code = bucket;
      for (let c = 0; c < comparisons; c++) {
        const l = levels[base + c]!;
        code = code * (levelCounts[c]! + 1) + (l === missing ? levelCounts[c]! : l);
      }
      key = code;
    } else key = String.fromCharCode(bucket, ...levels.subarray(base, base + comparisons));
    let id = numbering.get(key);
    if (id === undefined) {
      id = distinct.length;
      numbering.set(key, id);
      distinct.push(levels.slice(base, base + comparisons));
      logFactors.push(factors === undefined ? 0 : bucket / FACTOR_STEPS - FACTOR_LIMIT);
    }
    of[p] = id;
  }
  return { of, levels: distinct, logFactors: Float64Array.from(logFactors) };
}

/** The patterns of the pairs `select` keeps, with counts, from an index. */
export function countPatterns(index: PatternIndex, select?: (pair: number) => boolean): Pattern[] {
  const counts = new Float64Array(index.levels.length);
  if (select === undefined) for (let p = 0; p < index.of.length; p++) counts[index.of[p]!]!++;
  else for (let p = 0; p < index.of.length; p++) if (select(p)) counts[index.of[p]!]!++;
  const out: Pattern[] = [];
  for (let k = 0; k < counts.length; k++) if (counts[k]! > 0) out.push({ levels: index.levels[k]!, count: counts[k]!, logFactor: index.logFactors[k]! });
  return out;
}

/**
 * The patterns of each of `groups` subsets of the pairs at once, subset g holding the pairs whose
 * `masks` entry has bit g set (the blocking rules a pair satisfies): one pass over the pairs
 * instead of one per subset.
 */
export function countPatternsByMask(index: PatternIndex, masks: Uint32Array, groups: number): Pattern[][] {
  const width = index.levels.length;
  const counts = Array.from({ length: groups }, () => new Float64Array(width));
  for (let p = 0; p < index.of.length; p++) {
    let mask = masks[p]!;
    const k = index.of[p]!;
    while (mask !== 0) {
      const g = 31 - Math.clz32(mask & -mask);
      if (g < groups) counts[g]![k]!++;
      mask &= mask - 1;
    }
  }
  return counts.map((row) => {
    const out: Pattern[] = [];
    for (let k = 0; k < width; k++) if (row[k]! > 0) out.push({ levels: index.levels[k]!, count: row[k]!, logFactor: index.logFactors[k]! });
    return out;
  });
}
