import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { deleteIdentifier } from '../identity/delete-identifier.ts';
import { identifierKey, parseIdentifierKey } from '../identity/identifier.ts';
import { normaliseIdentifier } from '../identity/normalise-identifier.ts';
import { parseRules } from '../identity/parse-rules.ts';
import { finishRulesChange } from '../identity/rules-change.ts';
import { lookupProfile } from '../profile/profile-lookup.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

/**
 * Admin-key routes: identity rules, the rejected-message log, and deleting an identifier from a
 * profile (which re-resolves and may split it).
 */
export function registerAdminRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app, auth } = deps;

  server.get<{ Params: { ws: string } }>('/v1/spaces/:ws/settings/identity', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    return { rules: workspace.rules };
  });

  server.put<{ Params: { ws: string } }>('/v1/spaces/:ws/settings/identity', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const checked = parseRules(req.body, workspace.rules);
    if (!checked.ok) throw new HttpError(400, 'invalid_rules', checked.message, checked.field);
    const generation = await app.workspaces.setRules(workspace.id, checked.rules);
    auth.invalidate();
    const { reresolved, rescored } = await finishRulesChange(app.store, { ...workspace, rules: checked.rules }, generation, { now: app.now() });
    return { rules: checked.rules, reresolved, ...(rescored === null ? {} : { rescored }) };
  });

  server.get<{ Params: { ws: string }; Querystring: { limit?: string; before?: string } }>('/v1/spaces/:ws/rejected', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new HttpError(400, 'invalid_limit', 'limit must be an integer from 1 to 1000', 'limit');
    const before = req.query.before === undefined ? null : Number(req.query.before);
    if (before !== null && !Number.isInteger(before)) throw new HttpError(400, 'invalid_cursor', 'before must be a sequence number', 'before');
    const rows = await app.store.read.listRejected(workspace.id, { limit, beforeSeq: before });
    return {
      data: rows.map((r) => ({
        seq: r.seq,
        received_at: new Date(r.receivedAt).toISOString(),
        index: r.index,
        message_id: r.messageId,
        code: r.code,
        reason: r.reason,
        field: r.field,
        source_id: r.source,
        body: r.body,
      })),
      next: rows.length === limit ? String(rows[rows.length - 1]!.seq) : null,
    };
  });

  server.delete<{ Params: { ws: string; id: string; key: string } }>(
    '/v1/spaces/:ws/collections/users/profiles/:id/external_ids/:key',
    async (req) => {
      const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
      const found = await lookupProfile(app.store.read, workspace, req.params.id);
      if (found.kind !== 'found') throw new HttpError(404, 'not_found', found.message);
      const parsed = parseIdentifierKey(req.params.key);
      if (parsed === undefined) throw new HttpError(400, 'invalid_identifier', `"${req.params.key}" is not TYPE:VALUE`, 'key');
      const normal = normaliseIdentifier(parsed.type, parsed.value, workspace.rules);
      if (!normal.ok) throw new HttpError(400, 'invalid_identifier', normal.reason, 'key');
      const outcome = await deleteIdentifier(app.store, workspace, found.profile.id, identifierKey(parsed.type, normal.value), app.now());
      if (!outcome.ok) throw new HttpError(404, outcome.code, outcome.message);
      return { deleted: identifierKey(parsed.type, normal.value), profile_id: outcome.profileId, profiles: outcome.resultingProfiles };
    },
  );
}
