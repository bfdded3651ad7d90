import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { createGunzip, createInflate } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { redactUrl } from '../observability/redact.ts';
import type { App } from '../app.ts';
import { IngestService, type MessageSink } from '../ingest/ingest-service.ts';
import { Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';
import { registerTrackingRoutes } from './tracking-routes.ts';
import { registerProfileRoutes } from './profile-routes.ts';
import { registerAdminRoutes } from './admin-routes.ts';
import { registerKeyRoutes } from './key-routes.ts';
import { registerPrivacyRoutes } from './privacy-routes.ts';
import { registerImportRoutes } from './import-routes.ts';
import { registerExportRoutes } from './export-routes.ts';
import { registerMatchRoutes } from './match-routes.ts';
import { RateLimiter } from './rate-limiter.ts';
import { registerTrackingCors } from './tracking-cors.ts';
import { clientErrorHandler, frameworkErrorHandler } from './framework-errors.ts';
import { DEFAULT_CORS_ORIGINS, DEFAULT_LIMITS, type ConnectionLimits, type CorsOrigins } from '../config.ts';

export interface ServerOptions {
  readonly logger?: FastifyServerOptions['logger'];
  /** Ingest limit per workspace, in messages: sustained rate and burst (default 20,000/s, 40,000). */
  readonly rateLimit?: { readonly messagesPerSecond: number; readonly burst: number };
  /** Where accepted messages go instead of this process's group commit (`kith serve --bus`). */
  readonly intake?: MessageSink;
  /** Browser origins allowed on the tracking endpoints (default `*`; `[]` turns CORS off). */
  readonly cors?: CorsOrigins;
  /** Connection cap and request time limits (defaults in `DEFAULT_LIMITS`). */
  readonly limits?: ConnectionLimits;
}

/**
 * Builds the HTTP server: Segment's Tracking API under `/v1/*`, Segment's Profile API under
 * `/v1/spaces/{workspace}/collections/users/profiles/*` with kith's extensions, and admin routes.
 * Every error leaves through one handler as `{ error: { code, message, field? } }`.
 */
export function buildServer(app: App, options: ServerOptions = {}): FastifyInstance {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const server = Fastify({
    logger: options.logger === undefined || options.logger === false ? false : withRedaction(options.logger === true ? {} : options.logger),
    bodyLimit: 500 * 1024,
    // Slow-loris clients: Node answers 408 (through clientErrorHandler) once the headers or the whole
    // request take longer than this, checking every second (or faster when the limits are shorter).
    requestTimeout: limits.requestTimeoutMs,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
    // Identifier values in paths may be 1,024 characters, percent-encoded up to 9 bytes each.
    routerOptions: { maxParamLength: 10_000 },
    keepAliveTimeout: 65_000,
    forceCloseConnections: false,
    return503OnClosing: true,
    // The validator drops these keys itself; refusing the whole body here would cost a batch's
    // valid messages their acceptance because one neighbour carried a hostile key.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    requestIdHeader: 'x-request-id',
    genReqId: () => `req_${randomBytes(8).toString('hex')}`,
  });
  // Over the cap Node closes a new connection at once, before reading anything from it.
  server.server.maxConnections = limits.maxConnections;
  registerTrackingCors(server, options.cors ?? DEFAULT_CORS_ORIGINS);
  server.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
    // `?a=1&a=2` parses to an array where every route expects one string.
    for (const [name, value] of Object.entries(req.query as Record<string, unknown>)) {
      if (Array.isArray(value)) throw new HttpError(400, 'invalid_query', `query parameter "${name}" is given more than once`, name);
    }
  });
  server.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the concrete URL: paths carry identifier values.
    const route = req.routeOptions.url ?? 'unmatched';
    app.metrics.httpDuration.observe({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  const auth = new Authenticator(app.workspaces);
  const ingest = new IngestService(options.intake ?? app.committer, app.now);

  // Segment's libraries may compress batches; decompress before the body limit is counted.
  server.addHook('preParsing', async (req, _reply, payload) => {
    const encoding = req.headers['content-encoding'];
    if (encoding === undefined || encoding === 'identity') return payload;
    if (encoding === 'gzip' || encoding === 'deflate') return decompress(payload, encoding);
    throw new HttpError(415, 'unsupported_encoding', `content-encoding "${encoding}" is not supported; use gzip or none`);
  });
  // Browsers sending with navigator.sendBeacon use text/plain; the body is still JSON.
  server.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new HttpError(400, 'invalid_json', 'the request body is not valid JSON'), undefined);
    }
  });

  server.setErrorHandler((err, req, reply) => {
    if (err instanceof HttpError) {
      void reply.status(err.status).send({ error: { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) }, ...err.extra });
      return;
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    const status = e.statusCode ?? 500;
    if (status < 500) {
      void reply.status(status).send({ error: { code: fastifyCode(e.code, status), message: fastifyMessage(e.code, e.message ?? 'bad request') } });
      return;
    }
    req.log.error({ err }, 'request failed');
    void reply.status(500).send({ error: { code: 'internal', message: 'internal error; the request was not applied' } });
  });
  server.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  server.get('/health', async () => ({ status: 'ok' }));
  server.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', app.metrics.registry.contentType);
    return app.metrics.registry.metrics();
  });
  const limit = options.rateLimit ?? { messagesPerSecond: 20_000, burst: 40_000 };
  registerTrackingRoutes(server, { auth, ingest, metrics: app.metrics, limiter: new RateLimiter(limit.messagesPerSecond, limit.burst) });
  registerProfileRoutes(server, { auth, app });
  registerAdminRoutes(server, { auth, app });
  registerKeyRoutes(server, { auth, app });
  registerImportRoutes(server, { auth, app });
  registerExportRoutes(server, { auth, app });
  registerMatchRoutes(server, { auth, app });
  registerPrivacyRoutes(server, { auth, app });
  return server;
}

/**
 * Inflates a compressed body. Fastify checks Content-Length against `receivedEncodedLength`, so the
 * returned stream reports the compressed bytes it consumed, while the body limit applies to the
 * inflated bytes (a small bomb cannot grow past it).
 */
function decompress(payload: NodeJS.ReadableStream, encoding: 'gzip' | 'deflate'): NodeJS.ReadableStream {
  const inflate = encoding === 'gzip' ? createGunzip() : createInflate();
  const counted = inflate as typeof inflate & { receivedEncodedLength: number };
  counted.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    counted.receivedEncodedLength += chunk.length;
  });
  payload.on('error', (err) => inflate.destroy(err));
  inflate.on('error', () => undefined);
  return payload.pipe(inflate);
}

/**
 * Request logs carry the method, the redacted URL (identifier types, never values), the request
 * id and the client address; bodies and headers (keys) are never logged.
 */
function withRedaction(logger: Exclude<FastifyServerOptions['logger'], undefined | boolean>): FastifyServerOptions['logger'] {
  return {
    ...(logger as object),
    serializers: {
      req: (req: { id: string; method: string; url: string; ip?: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
    },
    redact: { paths: ['req.headers.authorization', '*.writeKey', '*.email', '*.phone'], censor: '[redacted]' },
  } as FastifyServerOptions['logger'];
}

function fastifyCode(code: string | undefined, status: number): string {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'empty_body';
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'invalid_content_length';
    default:
      if (status === 400) return 'invalid_json';
      return 'bad_request';
  }
}

function fastifyMessage(code: string | undefined, message: string): string {
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return 'request body is larger than the limit (500 KB for a batch, 32 KB for one message)';
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'send the body as application/json';
  return message;
}
