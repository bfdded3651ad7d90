import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import type { ApiKeyRecord, KeyRole } from '../store/ports.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

const ROLES: readonly KeyRole[] = ['write', 'read', 'admin'];
const SOURCE_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

function view(k: ApiKeyRecord): Record<string, unknown> {
  return {
    id: k.id,
    role: k.role,
    prefix: k.prefix,
    source: k.source,
    created_at: new Date(k.createdAt).toISOString(),
    revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
  };
}

/** Admin-key routes to list, create, rotate and revoke a workspace's API keys. */
export function registerKeyRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app, auth } = deps;

  server.get<{ Params: { ws: string } }>('/v1/spaces/:ws/keys', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    return { data: (await app.workspaces.listKeys(workspace.id)).map(view) };
  });

  server.post<{ Params: { ws: string }; Body: unknown }>('/v1/spaces/:ws/keys', async (req, reply) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'invalid_body', 'send {"role": "write"|"read"|"admin", "source"?: "name"}');
    const role = body.role;
    if (typeof role !== 'string' || !ROLES.includes(role as KeyRole)) throw new HttpError(400, 'invalid_field', 'role must be "write", "read" or "admin"', 'role');
    const source = body.source ?? 'default';
    if (typeof source !== 'string' || !SOURCE_PATTERN.test(source)) throw new HttpError(400, 'invalid_field', 'source must be 1-64 letters, digits, "_", "." or "-"', 'source');
    const key = await app.workspaces.addKey(workspace.id, role as KeyRole, source);
    const record = (await app.workspaces.authenticate(key))!;
    return reply.status(201).send({ ...view(record), key });
  });

  server.post<{ Params: { ws: string; id: string } }>('/v1/spaces/:ws/keys/:id/rotate', async (req, reply) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const rotated = await app.workspaces.rotateKey(workspace.id, req.params.id);
    if (!rotated.ok) throw new HttpError(404, rotated.code, rotated.message);
    auth.invalidate();
    return reply.status(201).send({ ...view(rotated.record), key: rotated.key, replaces: req.params.id });
  });

  server.delete<{ Params: { ws: string; id: string } }>('/v1/spaces/:ws/keys/:id', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const revoked = await app.workspaces.revokeKey(workspace.id, req.params.id);
    if (!revoked.ok) throw new HttpError(revoked.code === 'not_found' ? 404 : 409, revoked.code, revoked.message);
    auth.invalidate();
    return { revoked: req.params.id };
  });
}
