import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimiter } from './rate-limiter.ts';
import type { MessageType } from '../spec/segment-message.ts';
import { MAX_BATCH_BYTES, MAX_MESSAGE_BYTES } from '../spec/validate-message.ts';
import type { IngestResult, IngestService } from '../ingest/ingest-service.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';
import type { Metrics } from '../observability/metrics.ts';

const SINGLE_TYPES: readonly MessageType[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'];

/**
 * Segment's HTTP Tracking API. The write key comes as the HTTP Basic username or as `writeKey` in
 * the body. A 200 means every accepted message is durable and already visible in its profile; with
 * the JetStream intake, a 202 means durable in the stream but not resolved within the wait.
 * Per-message problems in a batch are listed in `rejected` while the valid messages are accepted.
 */
export function registerTrackingRoutes(
  server: FastifyInstance,
  deps: { auth: Authenticator; ingest: IngestService; metrics: Metrics; limiter: RateLimiter },
): void {
  /** 429 with Retry-After when the workspace is over its ingest rate; nothing is stored. */
  const limit = (workspaceId: string, body: unknown, reply: FastifyReply): void => {
    const batch = typeof body === 'object' && body !== null ? (body as { batch?: unknown }).batch : undefined;
    const n = Array.isArray(batch) ? batch.length : 1;
    const taken = deps.limiter.take(workspaceId, n);
    if (taken.ok) return;
    deps.metrics.rejected.inc({ reason: 'rate_limited' }, n);
    void reply.header('retry-after', String(taken.retryAfterSeconds));
    throw new HttpError(429, 'rate_limited', `this workspace is over its ingest rate; retry after ${taken.retryAfterSeconds} s`);
  };
  const count = (result: IngestResult): IngestResult => {
    if (result.ok) {
      deps.metrics.accepted.inc(result.accepted);
      deps.metrics.duplicates.inc(result.duplicates);
    }
    for (const r of result.rejected) deps.metrics.rejected.inc({ reason: r.code });
    if (!result.ok && result.rejected.length === 0) deps.metrics.rejected.inc({ reason: result.problem.code });
    return result;
  };
  const principalOf = async (req: FastifyRequest) => {
    const body = req.body as Record<string, unknown> | null | undefined;
    const bodyKey = typeof body === 'object' && body !== null && typeof body.writeKey === 'string' ? body.writeKey : undefined;
    return deps.auth.require(keyFromHeaders(req) ?? bodyKey, 'write');
  };

  for (const type of SINGLE_TYPES) {
    // A little above 32 KB: the message itself is measured by the validator, which names the limit.
    server.post(`/v1/${type}`, { bodyLimit: MAX_MESSAGE_BYTES + 4096 }, async (req, reply) => {
      const principal = await principalOf(req);
      limit(principal.workspace.id, req.body, reply);
      const result = count(await deps.ingest.single(principal.workspace, principal.key.source, type, req.body));
      return reply.status(statusOf(result)).send(responseBody(result));
    });
  }
  for (const path of ['/v1/batch', '/v1/import']) {
    server.post(path, { bodyLimit: MAX_BATCH_BYTES }, async (req, reply) => {
      const principal = await principalOf(req);
      limit(principal.workspace.id, req.body, reply);
      const result = count(await deps.ingest.batch(principal.workspace, principal.key.source, req.body));
      return reply.status(statusOf(result)).send(responseBody(result));
    });
  }
}

function responseBody(result: IngestResult): Record<string, unknown> {
  if (!result.ok) {
    const { code, message, field } = result.problem;
    if (result.rejected.length === 0 && code === 'invalid_batch') {
      throw new HttpError(400, code, message, field);
    }
    return { success: false, error: { code, message, ...(field === undefined ? {} : { field }) }, rejected: result.rejected };
  }
  if (result.queued > 0) {
    return {
      success: true,
      accepted: result.accepted,
      duplicates: result.duplicates,
      queued: result.queued,
      rejected: result.rejected,
      message: `${result.queued} accepted message(s) are stored durably in the intake stream but not resolved yet; they will be, and their profiles will reflect them shortly`,
    };
  }
  return { success: true, accepted: result.accepted, duplicates: result.duplicates, rejected: result.rejected };
}

/** 200: durable and visible; 202: durable in the intake stream, not yet visible (`kith serve --bus`). */
function statusOf(result: IngestResult): number {
  if (!result.ok) return 400;
  return result.queued > 0 ? 202 : 200;
}
