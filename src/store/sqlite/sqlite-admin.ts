import type Database from 'better-sqlite3';
import type { IdentityRules } from '../../identity/rules.ts';
import type { AdminPort, ApiKeyRecord, KeyRole, Workspace, WorkspaceId } from '../ports.ts';

interface WorkspaceRow {
  id: string;
  name: string;
  created_at: number;
  rules: string;
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

const toWorkspace = (r: WorkspaceRow): Workspace => ({
  id: r.id as WorkspaceId,
  name: r.name,
  createdAt: r.created_at,
  rules: JSON.parse(r.rules) as IdentityRules,
});
const toKey = (r: KeyRow): ApiKeyRecord => ({
  id: r.id,
  workspaceId: r.ws as WorkspaceId,
  role: r.role as KeyRole,
  prefix: r.prefix,
  source: r.source,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Workspaces and their keys (stored as hashes only). */
export class SqliteAdmin implements AdminPort {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      insertWorkspace: db.prepare('INSERT INTO workspaces (id, name, created_at, rules) VALUES (?, ?, ?, ?)'),
      byName: db.prepare<[string], WorkspaceRow>('SELECT id, name, created_at, rules FROM workspaces WHERE name = ?'),
      byId: db.prepare<[string], WorkspaceRow>('SELECT id, name, created_at, rules FROM workspaces WHERE id = ?'),
      all: db.prepare<[], WorkspaceRow>('SELECT id, name, created_at, rules FROM workspaces ORDER BY created_at, name'),
      setRules: db.prepare<[string, string], { rules_pending: number }>(
        'UPDATE workspaces SET rules = ?, rules_pending = rules_pending + 1 WHERE id = ? RETURNING rules_pending',
      ),
      settleRules: db.prepare('UPDATE workspaces SET rules_pending = 0 WHERE id = ? AND rules_pending = ?'),
      pendingRules: db.prepare<[], { id: string; rules_pending: number }>('SELECT id, rules_pending FROM workspaces WHERE rules_pending > 0'),
      insertKey: db.prepare('INSERT INTO api_keys (id, ws, role, hash, prefix, source, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      keyByHash: db.prepare<[string], KeyRow>('SELECT id, ws, role, prefix, source, created_at, revoked_at FROM api_keys WHERE hash = ?'),
      keys: db.prepare<[string], KeyRow>('SELECT id, ws, role, prefix, source, created_at, revoked_at FROM api_keys WHERE ws = ? ORDER BY created_at'),
      revoke: db.prepare('UPDATE api_keys SET revoked_at = ? WHERE ws = ? AND id = ? AND revoked_at IS NULL'),
    };
  }

  async createWorkspace(ws: { id: WorkspaceId; name: string; createdAt: number; rules: IdentityRules }): Promise<void> {
    this.s.insertWorkspace.run(ws.id, ws.name, ws.createdAt, JSON.stringify(ws.rules));
  }
  async workspaceByName(name: string): Promise<Workspace | undefined> {
    const r = this.s.byName.get(name);
    return r === undefined ? undefined : toWorkspace(r);
  }
  async workspaceById(id: WorkspaceId): Promise<Workspace | undefined> {
    const r = this.s.byId.get(id);
    return r === undefined ? undefined : toWorkspace(r);
  }
  async listWorkspaces(): Promise<Workspace[]> {
    return this.s.all.all().map(toWorkspace);
  }
  async setRules(ws: WorkspaceId, rules: IdentityRules): Promise<number> {
    return this.s.setRules.get(JSON.stringify(rules), ws)?.rules_pending ?? 0;
  }
  async settleRules(ws: WorkspaceId, generation: number): Promise<void> {
    this.s.settleRules.run(ws, generation);
  }
  async pendingRules(): Promise<Array<{ ws: WorkspaceId; generation: number }>> {
    return this.s.pendingRules.all().map((r) => ({ ws: r.id as WorkspaceId, generation: r.rules_pending }));
  }
  async addKey(key: ApiKeyRecord & { hash: string }): Promise<void> {
    this.s.insertKey.run(key.id, key.workspaceId, key.role, key.hash, key.prefix, key.source, key.createdAt, key.revokedAt);
  }
  async keyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const r = this.s.keyByHash.get(hash);
    return r === undefined ? undefined : toKey(r);
  }
  async listKeys(ws: WorkspaceId): Promise<ApiKeyRecord[]> {
    return this.s.keys.all(ws).map(toKey);
  }
  async revokeKey(ws: WorkspaceId, id: string, at: number): Promise<boolean> {
    return this.s.revoke.run(at, ws, id).changes > 0;
  }
}
