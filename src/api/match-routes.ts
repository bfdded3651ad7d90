import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { configureMatching, trainWorkspaceModel } from '../identity/match-configure.ts';
import { decideReview, describePairs, type ReviewDecision } from '../identity/match-review.ts';
import { matchingOf } from '../identity/match-settings.ts';
import { rescoreWorkspace } from '../identity/match-workspace.ts';
import type { PairStatus } from '../store/match-ports.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

const STATUSES: ReadonlySet<string> = new Set(['review', 'linked', 'accepted', 'rejected', 'all']);

/**
 * Admin-key routes of probabilistic matching: the settings document (thresholds, trait mapping,
 * model), training and re-scoring, the models, and the review queue with its decisions.
 */
export function registerMatchRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app, auth } = deps;

  server.get<{ Params: { ws: string } }>('/v1/spaces/:ws/settings/matching', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    return {
      matching: matchingOf(workspace.rules),
      configured: workspace.rules.matching !== undefined,
      models: (await app.store.read.match.listModels(workspace.id)).map((m) => ({ version: m.version, created_at: new Date(m.createdAt).toISOString() })),
      pairs: await app.store.read.match.countPairs(workspace.id),
    };
  });

  server.put<{ Params: { ws: string } }>('/v1/spaces/:ws/settings/matching', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const outcome = await configureMatching(app.store, workspace, req.body, { now: app.now() });
    if (!outcome.ok) throw new HttpError(outcome.code === 'unknown_model' ? 404 : 400, outcome.code, outcome.message, outcome.field === '' ? undefined : outcome.field);
    auth.invalidate();
    return { matching: outcome.settings, rescored: outcome.rescored };
  });

  server.post<{ Params: { ws: string } }>('/v1/spaces/:ws/match/train', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const outcome = await trainWorkspaceModel(app.store, workspace, { now: app.now() });
    if (!outcome.ok) throw new HttpError(409, outcome.code, outcome.message);
    auth.invalidate();
    const m = outcome.model;
    return {
      model: { version: m.version, trained_at: m.trainedAt, lambda: m.lambda, attributes: m.comparisons.map((c) => c.attribute), training: m.training },
      records: outcome.records,
      matching: matchingOf(outcome.workspace.rules),
      rescored: outcome.rescored,
    };
  });

  server.post<{ Params: { ws: string } }>('/v1/spaces/:ws/match/run', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    return { rescored: await rescoreWorkspace(app.store, workspace, { now: app.now() }) };
  });

  server.get<{ Params: { ws: string; version: string } }>('/v1/spaces/:ws/match/models/:version', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const row = await app.store.read.match.loadModel(workspace.id, req.params.version);
    if (row === undefined) throw new HttpError(404, 'not_found', `no model ${req.params.version} in this workspace`);
    return row.model;
  });

  server.get<{ Params: { ws: string }; Querystring: { limit?: string; next?: string; status?: string } }>('/v1/spaces/:ws/reviews', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const limit = req.query.limit === undefined ? 50 : Number(req.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new HttpError(400, 'invalid_limit', 'limit must be an integer from 1 to 200', 'limit');
    const status = req.query.status ?? 'review';
    if (!STATUSES.has(status)) throw new HttpError(400, 'invalid_status', 'status must be one of review, linked, accepted, rejected, all', 'status');
    const next = req.query.next ?? null;
    if (next !== null && !/^mp_[0-9a-f]{20}$/.test(next)) throw new HttpError(400, 'invalid_cursor', 'next must be the cursor of a previous page', 'next');
    const pairs = await app.store.read.match.listPairs(workspace.id, { status: status === 'all' ? null : (status as PairStatus), afterId: next, limit });
    return { data: await describePairs(app.store.read, workspace, pairs), next: pairs.length === limit ? pairs[pairs.length - 1]!.id : null };
  });

  server.get<{ Params: { ws: string; id: string } }>('/v1/spaces/:ws/reviews/:id', async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const pair = await app.store.read.match.pairById(workspace.id, req.params.id);
    if (pair === undefined) throw new HttpError(404, 'not_found', `no scored pair ${req.params.id} in this workspace`);
    return (await describePairs(app.store.read, workspace, [pair]))[0];
  });

  const decide = async (wsName: string, key: string | undefined, id: string, action: string): Promise<unknown> => {
    const { workspace } = await auth.require(key, 'admin', wsName);
    if (action !== 'accept' && action !== 'reject') throw new HttpError(400, 'invalid_action', `"${action}" is not a review action; use :accept or :reject`, 'action');
    const outcome = await decideReview(app.store, workspace, id, action as ReviewDecision, app.now());
    if (!outcome.ok) throw new HttpError(outcome.code === 'not_found' ? 404 : 409, outcome.code, outcome.message);
    return { ...(await describePairs(app.store.read, workspace, [outcome.pair]))[0], linked: outcome.linked };
  };
  // Google-style custom methods: POST .../reviews/{id}:accept; .../reviews/{id}/accept works too.
  server.post<{ Params: { ws: string; target: string } }>('/v1/spaces/:ws/reviews/:target', async (req) => {
    const at = req.params.target.lastIndexOf(':');
    if (at <= 0) throw new HttpError(400, 'invalid_action', 'POST .../reviews/{id}:accept or .../reviews/{id}:reject', 'action');
    return decide(req.params.ws, keyFromHeaders(req), req.params.target.slice(0, at), req.params.target.slice(at + 1));
  });
  server.post<{ Params: { ws: string; id: string; action: string } }>('/v1/spaces/:ws/reviews/:id/:action', async (req) =>
    decide(req.params.ws, keyFromHeaders(req), req.params.id, req.params.action),
  );
}
