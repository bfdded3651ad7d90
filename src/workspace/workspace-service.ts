import { randomBytes } from 'node:crypto';
import { DEFAULT_RULES, type IdentityRules } from '../identity/rules.ts';
import type { ApiKeyRecord, KeyRole, Store, Workspace, WorkspaceId } from '../store/ports.ts';
import { hashApiKey, keyPrefix, newApiKey } from './api-keys.ts';

export const WORKSPACE_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface CreatedWorkspace {
  readonly workspace: Workspace;
  readonly writeKey: string;
  readonly readKey: string;
  readonly adminKey: string;
}

export type CreateWorkspaceResult = { ok: true; created: CreatedWorkspace } | { ok: false; code: 'invalid_name' | 'exists'; message: string };

/** Workspaces and their keys. Keys are shown once, at creation, and stored hashed. */
export class WorkspaceService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async create(name: string, rules: IdentityRules = DEFAULT_RULES): Promise<CreateWorkspaceResult> {
    if (!WORKSPACE_NAME_PATTERN.test(name)) {
      return { ok: false, code: 'invalid_name', message: `invalid workspace name "${name}": use 1-63 lower-case letters, digits, "-" or "_"` };
    }
    return this.store.write(async () => {
      if ((await this.store.admin.workspaceByName(name)) !== undefined) {
        return { ok: false as const, code: 'exists' as const, message: `workspace "${name}" already exists` };
      }
      const workspace: Workspace = { id: `ws_${randomBytes(9).toString('base64url')}` as WorkspaceId, name, createdAt: this.now(), rules };
      await this.store.admin.createWorkspace(workspace);
      const writeKey = await this.addKeyInTx(workspace.id, 'write', 'default');
      const readKey = await this.addKeyInTx(workspace.id, 'read', 'default');
      const adminKey = await this.addKeyInTx(workspace.id, 'admin', 'default');
      return { ok: true as const, created: { workspace, writeKey, readKey, adminKey } };
    });
  }

  /** Adds a key; `source` names where a write key's data comes from (shown as `source_id`). */
  async addKey(ws: WorkspaceId, role: KeyRole, source = 'default'): Promise<string> {
    return this.store.write(() => this.addKeyInTx(ws, role, source));
  }

  private async addKeyInTx(ws: WorkspaceId, role: KeyRole, source: string): Promise<string> {
    const key = newApiKey(role);
    const record: ApiKeyRecord & { hash: string } = {
      id: `key_${randomBytes(6).toString('base64url')}`,
      workspaceId: ws,
      role,
      prefix: keyPrefix(key),
      source,
      createdAt: this.now(),
      revokedAt: null,
      hash: hashApiKey(key),
    };
    await this.store.admin.addKey(record);
    return key;
  }

  /** The key's record when it is valid (known and not revoked). */
  async authenticate(key: string): Promise<ApiKeyRecord | undefined> {
    const record = await this.store.admin.keyByHash(hashApiKey(key));
    return record === undefined || record.revokedAt !== null ? undefined : record;
  }

  listKeys(ws: WorkspaceId): Promise<ApiKeyRecord[]> {
    return this.store.admin.listKeys(ws);
  }

  /**
   * Revokes a key at once (this process; other processes within their short auth cache). The last
   * active admin key cannot be revoked: that would lock everyone out of the workspace's settings.
   */
  async revokeKey(ws: WorkspaceId, id: string): Promise<{ ok: true } | { ok: false; code: 'not_found' | 'last_admin_key'; message: string }> {
    return this.store.write(async () => {
      const keys = await this.store.admin.listKeys(ws);
      const key = keys.find((k) => k.id === id && k.revokedAt === null);
      if (key === undefined) return { ok: false as const, code: 'not_found' as const, message: `no active key ${id} in this workspace` };
      if (key.role === 'admin' && keys.filter((k) => k.role === 'admin' && k.revokedAt === null).length === 1) {
        return { ok: false as const, code: 'last_admin_key' as const, message: 'this is the last active admin key; create another admin key first' };
      }
      await this.store.admin.revokeKey(ws, id, this.now());
      return { ok: true as const };
    });
  }

  /** Replaces a key with a new one of the same role and source, and revokes the old one. */
  async rotateKey(ws: WorkspaceId, id: string): Promise<{ ok: true; key: string; record: ApiKeyRecord } | { ok: false; code: 'not_found'; message: string }> {
    return this.store.write(async () => {
      const old = (await this.store.admin.listKeys(ws)).find((k) => k.id === id && k.revokedAt === null);
      if (old === undefined) return { ok: false as const, code: 'not_found' as const, message: `no active key ${id} in this workspace` };
      const key = await this.addKeyInTx(ws, old.role, old.source);
      await this.store.admin.revokeKey(ws, id, this.now());
      const record = (await this.store.admin.keyByHash(hashApiKey(key)))!;
      return { ok: true as const, key, record };
    });
  }

  byName(name: string): Promise<Workspace | undefined> {
    return this.store.admin.workspaceByName(name);
  }

  byId(id: WorkspaceId): Promise<Workspace | undefined> {
    return this.store.admin.workspaceById(id);
  }

  list(): Promise<Workspace[]> {
    return this.store.admin.listWorkspaces();
  }

  /** Saves the rules, marked pending until `finishRulesChange` has re-resolved the workspace. */
  async setRules(ws: WorkspaceId, rules: IdentityRules): Promise<number> {
    return this.store.write(() => this.store.admin.setRules(ws, rules));
  }
}
