import type { FastifyRequest } from 'fastify';
import type { ApiKeyRecord, KeyRole, Workspace } from '../store/ports.ts';
import type { WorkspaceService } from '../workspace/workspace-service.ts';
import { HttpError } from './http-error.ts';

export interface Principal {
  readonly key: ApiKeyRecord;
  readonly workspace: Workspace;
}

/** The key from `Authorization: Basic base64(key:)` (Segment's scheme) or `Bearer key`. */
export function keyFromHeaders(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const [scheme, value] = header.split(' ', 2);
  if (value === undefined) return undefined;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() !== 'basic') return undefined;
  const decoded = Buffer.from(value.trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? decoded : decoded.slice(0, colon);
}

/**
 * Resolves API keys to their workspace, with a short-lived cache so the hot ingest path does not
 * hit the store for every request. Revocation and rule changes call `invalidate()`.
 */
export class Authenticator {
  private readonly cache = new Map<string, { principal: Principal | undefined; until: number }>();

  constructor(
    private readonly workspaces: WorkspaceService,
    private readonly ttlMs = 2000,
  ) {}

  invalidate(): void {
    this.cache.clear();
  }

  async principal(key: string): Promise<Principal | undefined> {
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.until > now) return hit.principal;
    const record = await this.workspaces.authenticate(key);
    const workspace = record === undefined ? undefined : await this.workspaces.byId(record.workspaceId);
    const principal = record !== undefined && workspace !== undefined ? { key: record, workspace } : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal, until: now + this.ttlMs });
    return principal;
  }

  /** Checks the key and its role; for workspace-scoped paths, that the key belongs to that workspace. */
  async require(key: string | undefined, role: KeyRole, workspaceName?: string): Promise<Principal> {
    if (key === undefined || key === '') {
      throw new HttpError(401, 'missing_key', `send your ${role} key as the HTTP Basic username`);
    }
    const principal = await this.principal(key);
    if (principal === undefined) throw new HttpError(401, 'invalid_key', 'the key is unknown or revoked');
    if (workspaceName !== undefined && principal.workspace.name !== workspaceName) {
      throw new HttpError(403, 'wrong_workspace', `the key does not belong to workspace "${workspaceName}"`);
    }
    if (principal.key.role !== role) {
      throw new HttpError(403, 'wrong_role', `this endpoint needs a ${role} key; this is a ${principal.key.role} key`);
    }
    return principal;
  }
}
