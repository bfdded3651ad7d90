import type Database from 'better-sqlite3';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonValue } from '../../spec/segment-message.ts';
import type { MatchModelRow, MatchPair, MatchRecord, MatchTx, PairStatus, RecordValue } from '../match-ports.ts';
import type { ProfileId, WorkspaceId } from '../ports.ts';

interface RecordRow {
  key: string;
  vals: string;
  first_t: number;
  first_m: string;
}
interface PairRow {
  id: string;
  a: string;
  b: string;
  status: string;
  weight: number;
  probability: number;
  model_version: string;
  attributes: string;
  t: number;
  m: string;
  created_at: number;
  decided_at: number | null;
}

const PAIR_COLUMNS = 'id, a, b, status, weight, probability, model_version, attributes, t, m, created_at, decided_at';

const toRecord = (r: RecordRow): MatchRecord => ({
  key: r.key as IdentifierKey,
  values: JSON.parse(r.vals) as Record<string, RecordValue>,
  firstT: r.first_t,
  firstM: r.first_m,
});

const toPair = (r: PairRow): MatchPair => ({
  id: r.id,
  a: r.a as IdentifierKey,
  b: r.b as IdentifierKey,
  status: r.status as PairStatus,
  weight: r.weight,
  probability: r.probability,
  modelVersion: r.model_version,
  attributes: JSON.parse(r.attributes) as JsonValue,
  t: r.t,
  m: r.m,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
});

/**
 * The match tables on SQLite (see match-ports.ts). Used on the write connection inside its
 * transactions and on the read connection for reads. Parsed model documents are cached by
 * workspace and version: a version is a hash of the model's content, so it never goes stale.
 */
export class SqliteMatch implements MatchTx {
  private readonly s;
  private readonly models = new Map<string, MatchModelRow>();

  constructor(db: Database.Database) {
    this.s = {
      records: db.prepare<[string, string], RecordRow>('SELECT key, vals, first_t, first_m FROM match_records WHERE ws = ? AND key IN (SELECT value FROM json_each(?))'),
      upsertRecord: db.prepare(
        `INSERT INTO match_records (ws, key, vals, first_t, first_m) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (ws, key) DO UPDATE SET vals = excluded.vals, first_t = excluded.first_t, first_m = excluded.first_m`,
      ),
      deleteRecord: db.prepare('DELETE FROM match_records WHERE ws = ? AND key = ?'),
      deleteBlocksOf: db.prepare('DELETE FROM match_blocks WHERE ws = ? AND key = ?'),
      insertBlock: db.prepare('INSERT OR IGNORE INTO match_blocks (ws, block, key) VALUES (?, ?, ?)'),
      block: db.prepare<[string, string, number], { key: string }>('SELECT key FROM match_blocks WHERE ws = ? AND block = ? LIMIT ?'),
      scanRecords: db.prepare<[string, string, number], RecordRow>('SELECT key, vals, first_t, first_m FROM match_records WHERE ws = ? AND key > ? ORDER BY key LIMIT ?'),
      clearRecords: db.prepare('DELETE FROM match_records WHERE ws = ?'),
      clearBlocks: db.prepare('DELETE FROM match_blocks WHERE ws = ?'),
      pairsOf: db.prepare<[string, string, string, string], PairRow>(
        `SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = ? AND a IN (SELECT value FROM json_each(?))
         UNION SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = ? AND b IN (SELECT value FROM json_each(?))`,
      ),
      pairById: db.prepare<[string, string], PairRow>(`SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = ? AND id = ?`),
      listByStatus: db.prepare<[string, string, string, number], PairRow>(
        `SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = ? AND status = ? AND id > ? ORDER BY id LIMIT ?`,
      ),
      listAll: db.prepare<[string, string, number], PairRow>(`SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = ? AND id > ? ORDER BY id LIMIT ?`),
      countPairs: db.prepare<[string], { status: string; n: number }>('SELECT status, count(*) AS n FROM match_pairs WHERE ws = ? GROUP BY status'),
      upsertPair: db.prepare(
        `INSERT INTO match_pairs (ws, id, a, b, status, weight, probability, model_version, attributes, t, m, created_at, decided_at)
         VALUES (@ws, @id, @a, @b, @status, @weight, @probability, @model_version, @attributes, @t, @m, @created_at, @decided_at)
         ON CONFLICT (ws, id) DO UPDATE SET status = excluded.status, weight = excluded.weight, probability = excluded.probability,
           model_version = excluded.model_version, attributes = excluded.attributes, t = excluded.t, m = excluded.m,
           decided_at = excluded.decided_at`,
      ),
      deletePair: db.prepare('DELETE FROM match_pairs WHERE ws = ? AND id = ?'),
      violated: db.prepare<[string, string], PairRow>(
        `SELECT ${PAIR_COLUMNS.split(', ').map((c) => `p.${c}`).join(', ')} FROM match_pairs p
           JOIN identifiers ia ON ia.ws = p.ws AND ia.key = p.a
           JOIN identifiers ib ON ib.ws = p.ws AND ib.key = p.b
         WHERE p.ws = ? AND p.status = 'rejected' AND ia.profile = ib.profile
           AND ia.profile IN (SELECT value FROM json_each(?))`,
      ),
      model: db.prepare<[string, string], { version: string; created_at: number; model: string }>('SELECT version, created_at, model FROM match_models WHERE ws = ? AND version = ?'),
      models: db.prepare<[string], { version: string; created_at: number }>('SELECT version, created_at FROM match_models WHERE ws = ? ORDER BY created_at, version'),
      insertModel: db.prepare('INSERT OR IGNORE INTO match_models (ws, version, created_at, model) VALUES (?, ?, ?, ?)'),
    };
  }

  async loadRecords(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<MatchRecord[]> {
    if (keys.length === 0) return [];
    return this.s.records.all(ws, JSON.stringify(keys)).map(toRecord);
  }

  async saveRecords(ws: WorkspaceId, records: readonly MatchRecord[]): Promise<void> {
    for (const r of records) this.s.upsertRecord.run(ws, r.key, JSON.stringify(r.values), r.firstT, r.firstM);
  }

  async deleteRecords(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<void> {
    for (const key of keys) {
      this.s.deleteRecord.run(ws, key);
      this.s.deleteBlocksOf.run(ws, key);
    }
  }

  async setBlocks(ws: WorkspaceId, rows: ReadonlyArray<{ key: IdentifierKey; blocks: readonly string[] }>): Promise<void> {
    for (const row of rows) {
      this.s.deleteBlocksOf.run(ws, row.key);
      for (const block of row.blocks) this.s.insertBlock.run(ws, block, row.key);
    }
  }

  async candidates(ws: WorkspaceId, blocks: readonly string[], maxBlockSize: number): Promise<IdentifierKey[]> {
    const out = new Set<IdentifierKey>();
    for (const block of blocks) {
      const rows = this.s.block.all(ws, block, maxBlockSize + 1);
      if (rows.length > maxBlockSize) continue;
      for (const r of rows) out.add(r.key as IdentifierKey);
    }
    return [...out];
  }

  async scanRecords(ws: WorkspaceId, afterKey: IdentifierKey | null, limit: number): Promise<MatchRecord[]> {
    return this.s.scanRecords.all(ws, afterKey ?? '', limit).map(toRecord);
  }

  async clearRecords(ws: WorkspaceId): Promise<void> {
    this.s.clearRecords.run(ws);
    this.s.clearBlocks.run(ws);
  }

  async pairsOf(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<MatchPair[]> {
    if (keys.length === 0) return [];
    const list = JSON.stringify(keys);
    return this.s.pairsOf.all(ws, list, ws, list).map(toPair);
  }

  async pairById(ws: WorkspaceId, id: string): Promise<MatchPair | undefined> {
    const r = this.s.pairById.get(ws, id);
    return r === undefined ? undefined : toPair(r);
  }

  async listPairs(ws: WorkspaceId, opts: { status: PairStatus | null; afterId: string | null; limit: number }): Promise<MatchPair[]> {
    const rows = opts.status === null ? this.s.listAll.all(ws, opts.afterId ?? '', opts.limit) : this.s.listByStatus.all(ws, opts.status, opts.afterId ?? '', opts.limit);
    return rows.map(toPair);
  }

  async countPairs(ws: WorkspaceId): Promise<Record<PairStatus, number>> {
    const out: Record<PairStatus, number> = { linked: 0, review: 0, accepted: 0, rejected: 0 };
    for (const r of this.s.countPairs.all(ws)) out[r.status as PairStatus] = r.n;
    return out;
  }

  async savePairs(ws: WorkspaceId, pairs: readonly MatchPair[]): Promise<void> {
    for (const p of pairs) {
      this.s.upsertPair.run({
        ws,
        id: p.id,
        a: p.a,
        b: p.b,
        status: p.status,
        weight: p.weight,
        probability: p.probability,
        model_version: p.modelVersion,
        attributes: JSON.stringify(p.attributes),
        t: p.t,
        m: p.m,
        created_at: p.createdAt,
        decided_at: p.decidedAt,
      });
    }
  }

  async deletePairs(ws: WorkspaceId, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.s.deletePair.run(ws, id);
  }

  async violatedRejections(ws: WorkspaceId, profiles: readonly ProfileId[]): Promise<MatchPair[]> {
    if (profiles.length === 0) return [];
    return this.s.violated.all(ws, JSON.stringify(profiles)).map(toPair);
  }

  async loadModel(ws: WorkspaceId, version: string): Promise<MatchModelRow | undefined> {
    const cacheKey = `${ws}\0${version}`;
    const hit = this.models.get(cacheKey);
    if (hit !== undefined) return hit;
    const r = this.s.model.get(ws, version);
    if (r === undefined) return undefined;
    const row: MatchModelRow = { version: r.version, createdAt: r.created_at, model: JSON.parse(r.model) as unknown };
    if (this.models.size > 64) this.models.clear();
    this.models.set(cacheKey, row);
    return row;
  }

  async listModels(ws: WorkspaceId): Promise<Array<{ version: string; createdAt: number }>> {
    return this.s.models.all(ws).map((r) => ({ version: r.version, createdAt: r.created_at }));
  }

  async saveModel(ws: WorkspaceId, row: { version: string; createdAt: number; model: unknown }): Promise<void> {
    this.s.insertModel.run(ws, row.version, row.createdAt, JSON.stringify(row.model));
  }
}
