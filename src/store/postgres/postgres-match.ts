import type pg from 'pg';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonValue } from '../../spec/segment-message.ts';
import type { MatchModelRow, MatchPair, MatchRecord, MatchTx, PairStatus, RecordValue } from '../match-ports.ts';
import type { ProfileId, WorkspaceId } from '../ports.ts';
import type { Query } from './postgres-locks.ts';
import { jsonb, type Statement } from './postgres-rows.ts';

interface RecordRow {
  key: string;
  vals: Record<string, RecordValue>;
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
  attributes: JsonValue;
  t: number;
  m: string;
  created_at: number;
  decided_at: number | null;
}

const PAIR_COLUMNS = 'id, a, b, status, weight, probability, model_version, attributes, t, m, created_at, decided_at';
const qualifiedPair = PAIR_COLUMNS.split(', ').map((c) => `p.${c}`).join(', ');

const S = {
  records: { name: 'kith_match_records', text: 'SELECT key, vals, first_t, first_m FROM match_records WHERE ws = $1 AND key = ANY($2::text[])' },
  upsertRecords: {
    name: 'kith_match_upsert_records',
    text: `INSERT INTO match_records (ws, key, vals, first_t, first_m)
           SELECT $1, u.key, u.vals, u.first_t, u.first_m FROM unnest($2::text[], $3::jsonb[], $4::bigint[], $5::text[]) AS u(key, vals, first_t, first_m)
           ON CONFLICT (ws, key) DO UPDATE SET vals = excluded.vals, first_t = excluded.first_t, first_m = excluded.first_m`,
  },
  deleteRecords: { name: 'kith_match_delete_records', text: 'DELETE FROM match_records WHERE ws = $1 AND key = ANY($2::text[])' },
  deleteBlocks: { name: 'kith_match_delete_blocks', text: 'DELETE FROM match_blocks WHERE ws = $1 AND key = ANY($2::text[])' },
  insertBlocks: {
    name: 'kith_match_insert_blocks',
    text: `INSERT INTO match_blocks (ws, block, key) SELECT $1, u.block, u.key FROM unnest($2::text[], $3::text[]) AS u(block, key)
           ON CONFLICT DO NOTHING`,
  },
  /** Members of each block, at most max + 1 per block, so oversized blocks are seen without reading them whole. */
  candidates: {
    name: 'kith_match_candidates',
    text: `SELECT b.block, c.key FROM unnest($2::text[]) AS b(block)
           CROSS JOIN LATERAL (SELECT key FROM match_blocks WHERE ws = $1 AND block = b.block LIMIT $3) c`,
  },
  scanRecords: { name: 'kith_match_scan_records', text: 'SELECT key, vals, first_t, first_m FROM match_records WHERE ws = $1 AND key > $2 ORDER BY key LIMIT $3' },
  clearRecords: { name: 'kith_match_clear_records', text: 'DELETE FROM match_records WHERE ws = $1' },
  clearBlocks: { name: 'kith_match_clear_blocks', text: 'DELETE FROM match_blocks WHERE ws = $1' },
  pairsOf: {
    name: 'kith_match_pairs_of',
    text: `SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = $1 AND a = ANY($2::text[])
           UNION SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = $1 AND b = ANY($2::text[])`,
  },
  pairById: { name: 'kith_match_pair_by_id', text: `SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = $1 AND id = $2` },
  listByStatus: { name: 'kith_match_list_status', text: `SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = $1 AND status = $2 AND id > $3 ORDER BY id LIMIT $4` },
  listAll: { name: 'kith_match_list_all', text: `SELECT ${PAIR_COLUMNS} FROM match_pairs WHERE ws = $1 AND id > $2 ORDER BY id LIMIT $3` },
  countPairs: { name: 'kith_match_count_pairs', text: 'SELECT status, count(*)::int AS n FROM match_pairs WHERE ws = $1 GROUP BY status' },
  upsertPairs: {
    name: 'kith_match_upsert_pairs',
    text: `INSERT INTO match_pairs (ws, id, a, b, status, weight, probability, model_version, attributes, t, m, created_at, decided_at)
           SELECT $1, u.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::float8[], $8::text[], $9::jsonb[],
             $10::bigint[], $11::text[], $12::bigint[], $13::bigint[])
             AS u(id, a, b, status, weight, probability, model_version, attributes, t, m, created_at, decided_at)
           ON CONFLICT (ws, id) DO UPDATE SET status = excluded.status, weight = excluded.weight, probability = excluded.probability,
             model_version = excluded.model_version, attributes = excluded.attributes, t = excluded.t, m = excluded.m,
             decided_at = excluded.decided_at`,
  },
  deletePairs: { name: 'kith_match_delete_pairs', text: 'DELETE FROM match_pairs WHERE ws = $1 AND id = ANY($2::text[])' },
  violated: {
    name: 'kith_match_violated',
    text: `SELECT ${qualifiedPair} FROM match_pairs p
             JOIN identifiers ia ON ia.ws = p.ws AND ia.key = p.a
             JOIN identifiers ib ON ib.ws = p.ws AND ib.key = p.b
           WHERE p.ws = $1 AND p.status = 'rejected' AND ia.profile = ib.profile AND ia.profile = ANY($2::text[])`,
  },
  model: { name: 'kith_match_model', text: 'SELECT version, created_at, model FROM match_models WHERE ws = $1 AND version = $2' },
  models: { name: 'kith_match_models', text: 'SELECT version, created_at FROM match_models WHERE ws = $1 ORDER BY created_at, version' },
  insertModel: { name: 'kith_match_insert_model', text: 'INSERT INTO match_models (ws, version, created_at, model) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING' },
} satisfies Record<string, Statement>;

const toRecord = (r: RecordRow): MatchRecord => ({ key: r.key as IdentifierKey, values: r.vals, firstT: r.first_t, firstM: r.first_m });
const toPair = (r: PairRow): MatchPair => ({
  id: r.id,
  a: r.a as IdentifierKey,
  b: r.b as IdentifierKey,
  status: r.status as PairStatus,
  weight: r.weight,
  probability: r.probability,
  modelVersion: r.model_version,
  attributes: r.attributes,
  t: r.t,
  m: r.m,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
});

/** Runs statements in a workspace: inside the write transaction (with its workspace lock) or on the pool. */
export type MatchRunner = (ws: WorkspaceId, queries: readonly Query[]) => Promise<pg.QueryResult[]>;

/**
 * The match tables on PostgreSQL (see match-ports.ts): the same behaviour as SQLite's, one
 * statement per call (lists as arrays). Rows are written with upserts keyed by workspace and pair
 * or identifier, so two nodes scoring the same record reach and store the same decisions.
 */
export class PostgresMatch implements MatchTx {
  private readonly models = new Map<string, MatchModelRow>();

  constructor(private readonly run: MatchRunner) {}

  private async rows<T>(ws: WorkspaceId, statement: Statement, values: readonly unknown[]): Promise<T[]> {
    const [result] = await this.run(ws, [{ statement, values }]);
    return result!.rows as T[];
  }

  async loadRecords(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<MatchRecord[]> {
    if (keys.length === 0) return [];
    return (await this.rows<RecordRow>(ws, S.records, [ws, keys])).map(toRecord);
  }

  async saveRecords(ws: WorkspaceId, records: readonly MatchRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.rows(ws, S.upsertRecords, [ws, records.map((r) => r.key), records.map((r) => jsonb(r.values)), records.map((r) => r.firstT), records.map((r) => r.firstM)]);
  }

  async deleteRecords(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.run(ws, [
      { statement: S.deleteRecords, values: [ws, keys] },
      { statement: S.deleteBlocks, values: [ws, keys] },
    ]);
  }

  async setBlocks(ws: WorkspaceId, rows: ReadonlyArray<{ key: IdentifierKey; blocks: readonly string[] }>): Promise<void> {
    if (rows.length === 0) return;
    const blocks: string[] = [];
    const keys: string[] = [];
    for (const r of rows) for (const b of r.blocks) {
      blocks.push(b);
      keys.push(r.key);
    }
    await this.run(ws, [
      { statement: S.deleteBlocks, values: [ws, rows.map((r) => r.key)] },
      { statement: S.insertBlocks, values: [ws, blocks, keys] },
    ]);
  }

  async candidates(ws: WorkspaceId, blocks: readonly string[], maxBlockSize: number): Promise<IdentifierKey[]> {
    if (blocks.length === 0) return [];
    const rows = await this.rows<{ block: string; key: string }>(ws, S.candidates, [ws, blocks, maxBlockSize + 1]);
    const byBlock = new Map<string, string[]>();
    for (const r of rows) {
      const list = byBlock.get(r.block);
      if (list === undefined) byBlock.set(r.block, [r.key]);
      else list.push(r.key);
    }
    const out = new Set<IdentifierKey>();
    for (const list of byBlock.values()) if (list.length <= maxBlockSize) for (const k of list) out.add(k as IdentifierKey);
    return [...out];
  }

  async scanRecords(ws: WorkspaceId, afterKey: IdentifierKey | null, limit: number): Promise<MatchRecord[]> {
    return (await this.rows<RecordRow>(ws, S.scanRecords, [ws, afterKey ?? '', limit])).map(toRecord);
  }

  async clearRecords(ws: WorkspaceId): Promise<void> {
    await this.run(ws, [
      { statement: S.clearRecords, values: [ws] },
      { statement: S.clearBlocks, values: [ws] },
    ]);
  }

  async pairsOf(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<MatchPair[]> {
    if (keys.length === 0) return [];
    return (await this.rows<PairRow>(ws, S.pairsOf, [ws, keys])).map(toPair);
  }

  async pairById(ws: WorkspaceId, id: string): Promise<MatchPair | undefined> {
    const [row] = await this.rows<PairRow>(ws, S.pairById, [ws, id]);
    return row === undefined ? undefined : toPair(row);
  }

  async listPairs(ws: WorkspaceId, opts: { status: PairStatus | null; afterId: string | null; limit: number }): Promise<MatchPair[]> {
    const rows =
      opts.status === null
        ? await this.rows<PairRow>(ws, S.listAll, [ws, opts.afterId ?? '', opts.limit])
        : await this.rows<PairRow>(ws, S.listByStatus, [ws, opts.status, opts.afterId ?? '', opts.limit]);
    return rows.map(toPair);
  }

  async countPairs(ws: WorkspaceId): Promise<Record<PairStatus, number>> {
    const out: Record<PairStatus, number> = { linked: 0, review: 0, accepted: 0, rejected: 0 };
    for (const r of await this.rows<{ status: string; n: number }>(ws, S.countPairs, [ws])) out[r.status as PairStatus] = r.n;
    return out;
  }

  async savePairs(ws: WorkspaceId, pairs: readonly MatchPair[]): Promise<void> {
    if (pairs.length === 0) return;
    const col = <T>(f: (p: MatchPair) => T): T[] => pairs.map(f);
    await this.rows(ws, S.upsertPairs, [
      ws,
      col((p) => p.id),
      col((p) => p.a),
      col((p) => p.b),
      col((p) => p.status),
      col((p) => p.weight),
      col((p) => p.probability),
      col((p) => p.modelVersion),
      col((p) => jsonb(p.attributes)),
      col((p) => p.t),
      col((p) => p.m),
      col((p) => p.createdAt),
      col((p) => p.decidedAt),
    ]);
  }

  async deletePairs(ws: WorkspaceId, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.rows(ws, S.deletePairs, [ws, ids]);
  }

  async violatedRejections(ws: WorkspaceId, profiles: readonly ProfileId[]): Promise<MatchPair[]> {
    if (profiles.length === 0) return [];
    return (await this.rows<PairRow>(ws, S.violated, [ws, profiles])).map(toPair);
  }

  async loadModel(ws: WorkspaceId, version: string): Promise<MatchModelRow | undefined> {
    const cacheKey = `${ws}\0${version}`;
    const hit = this.models.get(cacheKey);
    if (hit !== undefined) return hit;
    const [r] = await this.rows<{ version: string; created_at: number; model: string }>(ws, S.model, [ws, version]);
    if (r === undefined) return undefined;
    const row: MatchModelRow = { version: r.version, createdAt: r.created_at, model: JSON.parse(r.model) as unknown };
    if (this.models.size > 64) this.models.clear();
    this.models.set(cacheKey, row);
    return row;
  }

  async listModels(ws: WorkspaceId): Promise<Array<{ version: string; createdAt: number }>> {
    return (await this.rows<{ version: string; created_at: number }>(ws, S.models, [ws])).map((r) => ({ version: r.version, createdAt: r.created_at }));
  }

  async saveModel(ws: WorkspaceId, row: { version: string; createdAt: number; model: unknown }): Promise<void> {
    await this.rows(ws, S.insertModel, [ws, row.version, row.createdAt, JSON.stringify(row.model)]);
  }
}
