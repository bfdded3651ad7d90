/**
 * Pairwise precision, recall and F1 of predicted clusters against true clusters: a pair of records
 * is a predicted match when they share a predicted cluster, a true match when they share a true
 * one. For a link, only pairs across the two files count.
 */
export interface PairwiseScores {
  readonly truePairs: number;
  readonly predictedPairs: number;
  readonly correctPairs: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface Clustered {
  /** The record's key (unique across both files of a link). */
  readonly key: string;
  readonly predicted: string;
  readonly truth: string;
  /** 0 or 1 for a link; 0 for a dedupe. */
  readonly source: 0 | 1;
}

function pairsIn(groups: Map<string, [number, number]>, link: boolean): number {
  let n = 0;
  for (const [a, b] of groups.values()) n += link ? a * b : ((a + b) * (a + b - 1)) / 2;
  return n;
}

function tally(map: Map<string, [number, number]>, key: string, source: 0 | 1): void {
  let cell = map.get(key);
  if (cell === undefined) {
    cell = [0, 0];
    map.set(key, cell);
  }
  cell[source]++;
}

/** Pairwise scores of `records` (each with its predicted and true cluster). */
export function pairwiseScores(records: readonly Clustered[], options: { readonly link: boolean }): PairwiseScores {
  const predicted = new Map<string, [number, number]>();
  const truth = new Map<string, [number, number]>();
  const both = new Map<string, [number, number]>();
  for (const r of records) {
    tally(predicted, r.predicted, r.source);
    tally(truth, r.truth, r.source);
    tally(both, `${r.predicted}\u0000${r.truth}`, r.source);
  }
  const truePairs = pairsIn(truth, options.link);
  const predictedPairs = pairsIn(predicted, options.link);
  const correctPairs = pairsIn(both, options.link);
  const precision = predictedPairs === 0 ? 1 : correctPairs / predictedPairs;
  const recall = truePairs === 0 ? 1 : correctPairs / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePairs, predictedPairs, correctPairs, precision, recall, f1 };
}
