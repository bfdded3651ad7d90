import cors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { CorsOrigins } from '../config.ts';

/** The Tracking API paths a browser may call; every other route answers no CORS at all. */
export const TRACKING_PATHS: ReadonlySet<string> = new Set(['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import'].map((p) => `/v1/${p}`));

/**
 * CORS for the Tracking API only (`@fastify/cors`, decided per request by path): `origins` may
 * call `POST /v1/identify|track|page|screen|group|alias|batch|import` from a browser, and their
 * preflight `OPTIONS` is answered with the method and the headers Segment's browser clients send
 * (Authorization for Basic auth with the write key, Content-Type, Content-Encoding, X-Request-Id).
 * Pages may read `Retry-After` (429) and `X-Request-Id`. No credentials: keys travel in the header
 * or body, never in cookies. Profile and admin routes, and every preflight for them, get no CORS
 * headers, so a browser page can never read profiles or call admin routes cross-origin. An empty
 * list registers nothing: preflights then get 404.
 */
export function registerTrackingCors(server: FastifyInstance, origins: CorsOrigins): void {
  if (origins !== '*' && origins.length === 0) return;
  const allowed: FastifyCorsOptions = {
    origin: origins === '*' ? '*' : [...origins],
    methods: ['POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Content-Encoding', 'X-Request-Id'],
    exposedHeaders: ['Retry-After', 'X-Request-Id'],
    credentials: false,
    // Chromium caps a preflight's cache at two hours.
    maxAge: 7200,
    // An OPTIONS without Origin is not a browser's preflight; answer it like one instead of with the
    // plugin's text/plain 400, which is not kith's error shape.
    strictPreflight: false,
  };
  // Registered on the root (the plugin escapes encapsulation) so its preflight route and hook see
  // every request; the delegator alone decides which paths answer CORS.
  void server.register(cors, {
    delegator: (req: FastifyRequest, callback: (error: Error | null, options?: FastifyCorsOptions) => void) => {
      callback(null, TRACKING_PATHS.has(pathOf(req.url)) ? allowed : { origin: false });
    },
  });
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
