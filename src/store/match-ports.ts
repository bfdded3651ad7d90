/**
 * Store ports of probabilistic matching in the identity graph: the personal record of each
 * identifier, the blocking-key index that finds candidates, the scored pairs (links, review queue
 * entries and human decisions) and the workspace's trained models. Both stores implement them.
 */
import type { IdentifierKey } from '../identity/identifier.ts';
import type { JsonValue } from '../spec/segment-message.ts';
import type { ProfileId, WorkspaceId } from './ports.ts';

/** One attribute of a personal record with the event that set it (survivorship: latest wins). */
export interface RecordValue {
  /** null: the latest event cleared the attribute. */
  readonly v: string | null;
  readonly t: number;
  readonly m: string;
}

/**
 * What one identifier's own `identify` calls say about the person (the identifier being the call's
 * highest-priority one): matcher attribute → value. `firstT`/`firstM` is the earliest such call.
 */
export interface MatchRecord {
  readonly key: IdentifierKey;
  readonly values: Readonly<Record<string, RecordValue>>;
  readonly firstT: number;
  readonly firstM: string;
}

/**
 * `linked`: scored at or above the auto-link threshold (evidence of kind probabilistic);
 * `review`: between the review and auto-link thresholds, waiting in the review queue;
 * `accepted`: a person linked it (evidence of kind manual); `rejected`: a person ruled that the
 * two must never be linked (a constraint re-resolution honours).
 */
export type PairStatus = 'linked' | 'review' | 'accepted' | 'rejected';

/** A scored pair of identifiers' records, `a < b`. */
export interface MatchPair {
  /** Stable id derived from the two identifiers (the review queue's id). */
  readonly id: string;
  readonly a: IdentifierKey;
  readonly b: IdentifierKey;
  readonly status: PairStatus;
  /** Match weight (log2 odds) and probability when scored; the model that scored it. */
  readonly weight: number;
  readonly probability: number;
  readonly modelVersion: string;
  /** Per-attribute contributions (`AttributeScore`s of the matcher), for explain and review. */
  readonly attributes: JsonValue;
  /** Where the link sits in canonical order: just after this event (the later record's first call). */
  readonly t: number;
  readonly m: string;
  readonly createdAt: number;
  readonly decidedAt: number | null;
}

export interface MatchModelRow {
  readonly version: string;
  readonly createdAt: number;
  /** The model document (parsed JSON; callers check it with the matcher's parseModel). */
  readonly model: unknown;
}

/** Reads of the match tables; the write transaction and the read connection both have them. */
export interface MatchRead {
  loadRecords(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<MatchRecord[]>;
  /** Every pair with either end among `keys`, whatever its status. */
  pairsOf(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<MatchPair[]>;
  pairById(ws: WorkspaceId, id: string): Promise<MatchPair | undefined>;
  /** Pairs of one status in id order after `afterId` (a keyset page). */
  listPairs(ws: WorkspaceId, opts: { status: PairStatus | null; afterId: string | null; limit: number }): Promise<MatchPair[]>;
  countPairs(ws: WorkspaceId): Promise<Record<PairStatus, number>>;
  loadModel(ws: WorkspaceId, version: string): Promise<MatchModelRow | undefined>;
  listModels(ws: WorkspaceId): Promise<Array<{ version: string; createdAt: number }>>;
}

/** Writes of the match tables, inside a write transaction. */
export interface MatchTx extends MatchRead {
  saveRecords(ws: WorkspaceId, records: readonly MatchRecord[]): Promise<void>;
  /** Deletes records with their blocking keys. */
  deleteRecords(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<void>;
  /** Replaces the blocking keys of each listed identifier. */
  setBlocks(ws: WorkspaceId, rows: ReadonlyArray<{ key: IdentifierKey; blocks: readonly string[] }>): Promise<void>;
  /**
   * Identifiers filed under any of `blocks`, leaving out blocks holding more than `maxBlockSize`
   * identifiers (a value too common to discriminate).
   */
  candidates(ws: WorkspaceId, blocks: readonly string[], maxBlockSize: number): Promise<IdentifierKey[]>;
  /** Records in key order after `afterKey`, for walking a workspace. */
  scanRecords(ws: WorkspaceId, afterKey: IdentifierKey | null, limit: number): Promise<MatchRecord[]>;
  /** Deletes every record and blocking key of the workspace (before a rebuild). */
  clearRecords(ws: WorkspaceId): Promise<void>;
  savePairs(ws: WorkspaceId, pairs: readonly MatchPair[]): Promise<void>;
  deletePairs(ws: WorkspaceId, ids: readonly string[]): Promise<void>;
  /** Rejected pairs whose two identifiers both belong to one of `profiles` now. */
  violatedRejections(ws: WorkspaceId, profiles: readonly ProfileId[]): Promise<MatchPair[]>;
  saveModel(ws: WorkspaceId, row: { version: string; createdAt: number; model: unknown }): Promise<void>;
}
