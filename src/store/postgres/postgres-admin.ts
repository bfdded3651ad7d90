import type pg from 'pg';
import type { IdentityRules } from '../../identity/rules.ts';
import type { AdminPort, ApiKeyRecord, KeyRole, Workspace, WorkspaceId } from '../ports.ts';
import { jsonb, type Queryable, type Statement } from './postgres-rows.ts';

interface WorkspaceRow {
  id: string;
  name: string;
  created_at: number;
  rules: IdentityRules;
}
interface KeyRow {
  id: string;
  ws: string;
  role: string;
  prefix: string;
  source: string;
  created_at: number;
  revoked_at: number | null;
}

const WORKSPACE_COLUMNS = 'id, name, created_at, rules';
const KEY_COLUMNS = 'id, ws, role, prefix, source, created_at, revoked_at';

const S = {
  insertWorkspace: { name: 'kith_admin_insert_workspace', text: 'INSERT INTO workspaces (id, name, created_at, rules) VALUES ($1, $2, $3, $4::jsonb)' },
  byName: { name: 'kith_admin_workspace_by_name', text: `SELECT ${WORKSPACE_COLUMNS} FROM workspaces WHERE name = $1` },
  byId: { name: 'kith_admin_workspace_by_id', text: `SELECT ${WORKSPACE_COLUMNS} FROM workspaces WHERE id = $1` },
  all: { name: 'kith_admin_workspaces', text: `SELECT ${WORKSPACE_COLUMNS} FROM workspaces ORDER BY created_at, name` },
  setRules: {
    name: 'kith_admin_set_rules',
    text: 'UPDATE workspaces SET rules = $2::jsonb, rules_pending = rules_pending + 1 WHERE id = $1 RETURNING rules_pending',
  },
  settleRules: { name: 'kith_admin_settle_rules', text: 'UPDATE workspaces SET rules_pending = 0 WHERE id = $1 AND rules_pending = $2' },
  pendingRules: { name: 'kith_admin_pending_rules', text: 'SELECT id, rules_pending FROM workspaces WHERE rules_pending > 0' },
  insertKey: {
    name: 'kith_admin_insert_key',
    text: 'INSERT INTO api_keys (id, ws, role, hash, prefix, source, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
  },
  keyByHash: { name: 'kith_admin_key_by_hash', text: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE hash = $1` },
  keys: { name: 'kith_admin_keys', text: `SELECT ${KEY_COLUMNS} FROM api_keys WHERE ws = $1 ORDER BY created_at, seq` },
  revoke: { name: 'kith_admin_revoke_key', text: 'UPDATE api_keys SET revoked_at = $3 WHERE ws = $1 AND id = $2 AND revoked_at IS NULL' },
} satisfies Record<string, Statement>;

const toWorkspace = (r: WorkspaceRow): Workspace => ({ id: r.id as WorkspaceId, name: r.name, createdAt: r.created_at, rules: r.rules });
const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  workspaceId: r.ws as WorkspaceId,
  role: r.role as KeyRole,
  prefix: r.prefix,
  source: r.source,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/**
 * Workspaces and their keys (stored as hashes only). `db()` answers where a call runs: inside
 * `store.write(fn)` it is the transaction's client, so admin calls made there (creating a workspace
 * with its keys) commit or roll back with the unit of work, as they do on the SQLite store's single
 * connection; anywhere else it is the pool.
 */
export class PostgresAdmin implements AdminPort {
  constructor(private readonly db: () => Queryable) {}

  async createWorkspace(ws: { id: WorkspaceId; name: string; createdAt: number; rules: IdentityRules }): Promise<void> {
    await this.run(S.insertWorkspace, [ws.id, ws.name, ws.createdAt, jsonb(ws.rules)]);
  }
  async workspaceByName(name: string): Promise<Workspace | undefined> {
    const [r] = await this.run<WorkspaceRow>(S.byName, [name]);
    return r === undefined ? undefined : toWorkspace(r);
  }
  async workspaceById(id: WorkspaceId): Promise<Workspace | undefined> {
    const [r] = await this.run<WorkspaceRow>(S.byId, [id]);
    return r === undefined ? undefined : toWorkspace(r);
  }
  async listWorkspaces(): Promise<Workspace[]> {
    return (await this.run<WorkspaceRow>(S.all, [])).map(toWorkspace);
  }
  async setRules(ws: WorkspaceId, rules: IdentityRules): Promise<number> {
    const [r] = await this.run<{ rules_pending: string }>(S.setRules, [ws, jsonb(rules)]);
    return r === undefined ? 0 : Number(r.rules_pending);
  }
  async settleRules(ws: WorkspaceId, generation: number): Promise<void> {
    await this.run(S.settleRules, [ws, generation]);
  }
  async pendingRules(): Promise<Array<{ ws: WorkspaceId; generation: number }>> {
    return (await this.run<{ id: string; rules_pending: string }>(S.pendingRules, [])).map((r) => ({ ws: r.id as WorkspaceId, generation: Number(r.rules_pending) }));
  }
  async addKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    await this.run(S.insertKey, [key.id, key.workspaceId, key.role, key.hash, key.prefix, key.source, key.createdAt, key.revokedAt]);
  }
  async keyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const [r] = await this.run<KeyRow>(S.keyByHash, [hash]);
    return r === undefined ? undefined : toKey(r);
  }
  async listKeys(ws: WorkspaceId): Promise<ApiKeyRecord[]> {
    return (await this.run<KeyRow>(S.keys, [ws])).map(toKey);
  }
  async revokeKey(ws: WorkspaceId, id: string, at: number): Promise<boolean> {
    const db = this.db();
    const result = await db.query({ ...S.revoke, values: [ws, id, at] });
    return (result.rowCount ?? 0) > 0;
  }

  private async run<R extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    return (await this.db().query<R>({ ...statement, values })).rows;
  }
}
