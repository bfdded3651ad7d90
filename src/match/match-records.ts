import { describeRule } from './model.ts';
import { clusterPairs, linkOneToOne } from './cluster.ts';
import { pairRelation } from './pair-relation.ts';
import { openSession, type MatchSession, type MatchSource } from './match-session.ts';
import type { Model } from './model.ts';
import { compareRecords, compileModel, familyOfTwoGenerations, pairWeight, probabilityToWeight, tableWeigher } from './score.ts';
import { TRAIN_DEFAULTS, openTrainingSession, trainSession, type TrainOptions } from './train.ts';
import { float64s, inArena } from './typed-arena.ts';

export interface MatchOptions extends TrainOptions {
  /** Score with this model instead of training one on the data. */
  readonly model?: Model;
  /**
   * Two groups are not joined when a record of one and a record of the other have a match
   * probability below this (default 0.0001): the guard against chaining strangers.
   */
  readonly strangerProbability?: number;
  /**
   * Link: each record joins at most one record of the other file (default true for a link, where
   * each file usually holds each person once); false clusters links like a dedupe (a record may
   * gather several of the other file). Ignored for a dedupe.
   */
  readonly oneToOne?: boolean;
  /** Called as each stage starts, for progress reports. */
  readonly onStage?: (stage: 'prepare' | 'train' | 'score' | 'cluster') => void;
}

export interface MatchedRecord {
  readonly id: string;
  /** 0 for the first (or only) file, 1 for the second file of a link. */
  readonly source: 0 | 1;
  /** The id of the cluster's first record (first file first, then input order). */
  readonly cluster: string;
}

export interface MatchResult {
  readonly model: Model;
  readonly records: readonly MatchedRecord[];
  readonly candidatePairs: number;
  /** Candidate pairs at or above the model's threshold. */
  readonly pairsAboveThreshold: number;
  /** Joins refused by the stranger guard, or (one-to-one link) because a record was already linked. */
  readonly refusedJoins: number;
  /** Whether the link was one-to-one. */
  readonly oneToOne: boolean;
  readonly clusters: number;
  readonly blocking: {
    readonly rules: readonly { readonly rule: string; readonly pairs: number }[];
    readonly oversizedBlocks: number;
    readonly oversizedRecords: number;
  };
  /**
   * Seconds spent in each stage: preparing the records (normalising, encoding), blocking (finding
   * candidate pairs), comparing them, training, scoring and clustering.
   */
  readonly seconds: {
    readonly prepare: number;
    readonly block: number;
    readonly compare: number;
    readonly train: number;
    readonly score: number;
    readonly cluster: number;
  };
}

/**
 * Deduplicates a list of records, or links two lists (`{left, right}`): prepares the records,
 * finds candidates by blocking, trains a model unless one is given, scores every candidate pair
 * and clusters those at or above the model's threshold. The records may come from a function
 * that reads them, so that the caller need not keep them (see `MatchSource`).
 */
export function matchRecords(source: MatchSource, options: MatchOptions = {}): MatchResult {
  return inArena(() => matchInArena(source, options));
}

function matchInArena(source: MatchSource, options: MatchOptions): MatchResult {
  const clock = (): number => performance.now() / 1000;
  options.onStage?.('prepare');
  const given = options.model;
  const modeMismatch = (link: boolean): Error | undefined =>
    given !== undefined && given.mode !== (link ? 'link' : 'dedupe') ? new Error(`the model was trained to ${given.mode}, not to ${link ? 'link' : 'dedupe'}`) : undefined;
  // Records given as they are can be refused before they are prepared; a function's only after.
  const early = typeof source === 'function' ? undefined : modeMismatch(!Array.isArray(source));
  if (early !== undefined) throw early;
  const session: MatchSession =
    given === undefined
      ? openTrainingSession(source, options)
      : openSession(source, {
          attributes: given.comparisons.map((c) => c.attribute),
          dateOrder: given.dateOrder,
          rules: () => given.blocking,
          maxBlockSize: options.maxBlockSize ?? TRAIN_DEFAULTS.maxBlockSize,
          maxPairsPerRecord: options.maxPairsPerRecord ?? TRAIN_DEFAULTS.maxPairsPerRecord,
        });
  const late = modeMismatch(session.link);
  if (late !== undefined) throw late;
  let t = clock();
  options.onStage?.('train');
  const model = given ?? trainSession(session, options);
  const trainSeconds = clock() - t;
  t = clock();
  options.onStage?.('score');
  const compiled = compileModel(model);
  const width = session.attributes.length;
  const { candidates, records } = session;
  const weight = float64s(candidates.count);
  const weigh = tableWeigher(compiled, session.table, records);
  for (let p = 0; p < candidates.count; p++) weight[p] = weigh(candidates.left[p]!, candidates.right[p]!, session.levels, p * width);
  const minWeight = probabilityToWeight(Math.min(Math.max(model.threshold, 1e-12), 1 - 1e-12));
  let above = 0;
  for (let p = 0; p < candidates.count; p++) if (weight[p]! >= minWeight) above++;
  const score = clock() - t;
  t = clock();
  options.onStage?.('cluster');
  const row = new Uint8Array(width);
  // Clustering asks for a pair's weight and then its relation: `row` keeps the levels of the
  // last pair compared, so the relation reads them instead of comparing the records again.
  let rowLeft = -1;
  let rowRight = -1;
  const compare = (a: number, b: number): Uint8Array => {
    if (a !== rowLeft || b !== rowRight) {
      compareRecords(compiled, records[a]!, records[b]!, row, 0);
      rowLeft = a;
      rowRight = b;
    }
    return row;
  };
  const oneToOne = session.link && options.oneToOne !== false;
  const scored = { left: candidates.left, right: candidates.right, weight, count: candidates.count };
  const clustered = oneToOne ? linkOneToOne(records.length, scored, { minWeight }) : clusterPairs(records.length, scored, {
    minWeight,
    strangerWeight: probabilityToWeight(options.strangerProbability ?? 1e-6),
    relation: (a, b) => {
      if (!compiled.households) return 'other';
      return pairRelation(compiled, compare(a, b), 0);
    },
    pairWeight: (a, b) => {
      // Two records of the same file of a link are not compared: that is the files' own business.
      if (session.link && records[a]!.source === records[b]!.source) return Number.POSITIVE_INFINITY;
      const w = pairWeight(compiled, records[a]!, records[b]!, compare(a, b), 0);
      // Two members of one family whose birth dates say two people, and whom the rest does not
      // make one, are two people however many links join them through others.
      return w < 0 && familyOfTwoGenerations(compiled, row, 0) ? Number.NEGATIVE_INFINITY : w;
    },
  });
  const out = records.map((r, i): MatchedRecord => ({ id: r.id, source: r.source, cluster: records[clustered.clusterOf[i]!]!.id }));
  const clusters = new Set(clustered.clusterOf).size;
  const cluster = clock() - t;
  return {
    model,
    records: out,
    candidatePairs: candidates.count,
    pairsAboveThreshold: above,
    refusedJoins: clustered.refused,
    oneToOne,
    clusters,
    blocking: { rules: candidates.rules.length > 0 ? candidates.rules : session.rules.map((r) => ({ rule: describeRule(r), pairs: 0 })), oversizedBlocks: candidates.oversizedBlocks, oversizedRecords: candidates.oversizedRecords },
    seconds: { ...session.seconds, train: trainSeconds, score, cluster },
  };
}
