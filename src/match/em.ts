/**
 * Expectation–maximisation for the m probabilities of a Fellegi–Sunter model, with u fixed (it is
 * estimated from random pairs) and λ free. Pairs are compressed into distinct comparison patterns
 * with counts first, so an iteration costs the number of patterns, not of pairs.
 */

/** A comparison pattern (a level per comparison, `missing` for a missing value) and how often it occurs. */
export interface Pattern {
  readonly levels: Uint8Array;
  readonly count: number;
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
    for (const { levels, count } of patterns) {
      let lm = logPrior;
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
