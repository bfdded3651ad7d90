import { join } from 'node:path';

/**
 * Who may call the tracking endpoints from a browser page: `'*'` any origin, or a list of exact
 * origins (`https://shop.example.com`); an empty list turns CORS off.
 */
export type CorsOrigins = '*' | readonly string[];

/** How many connections, and how long a client may take to send its request. */
export interface ConnectionLimits {
  /** Open connections at most; a connection over the cap is closed at once. */
  readonly maxConnections: number;
  /** Milliseconds a client has to send the request line and headers (idle new connections too). */
  readonly headersTimeoutMs: number;
  /** Milliseconds a client has to send its whole request, body included; then 408 and close. */
  readonly requestTimeoutMs: number;
}

export interface Config {
  /** SQLite file path (the embedded default) or a `postgres://` URL. */
  readonly db: string;
  readonly host: string;
  readonly port: number;
  /** Log level for the server's JSON logs. */
  readonly logLevel: string;
  /** Milliseconds the server waits for in-flight requests on shutdown. */
  readonly shutdownGraceMs: number;
  /** Ingest limit per workspace in messages per second (burst: twice that); env `KITH_RATE_LIMIT`. */
  readonly rateLimit: number;
  /** Browser origins allowed on the tracking endpoints; env `KITH_CORS_ORIGINS`. */
  readonly corsOrigins: CorsOrigins;
  /** Env `KITH_MAX_CONNECTIONS`, `KITH_HEADERS_TIMEOUT_MS`, `KITH_REQUEST_TIMEOUT_MS`. */
  readonly limits: ConnectionLimits;
}

export const DEFAULT_DB_PATH = join('data', 'kith.db');

/**
 * Any origin, as Segment's own tracking API does: analytics.js runs on the customer's pages, whose
 * origins the operator may not list up front, and the write key it carries is public anyway (CORS
 * guards what a page may read, never who may send). Profile and admin routes never answer CORS.
 */
export const DEFAULT_CORS_ORIGINS: CorsOrigins = '*';

/**
 * 10,000 connections (raise the process's open-file limit above it), 10 s for the headers and
 * 30 s for a whole request: ample for a 500 KB batch on a slow mobile link, short enough that
 * slow-loris clients cannot hold the connection slots for long.
 */
export const DEFAULT_LIMITS: ConnectionLimits = Object.freeze({ maxConnections: 10_000, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 });

/**
 * The only reader of environment variables, as a pure function: `KITH_DB`, `PORT`, `HOST`,
 * `KITH_LOG_LEVEL`, `KITH_RATE_LIMIT`, `KITH_CORS_ORIGINS`, `KITH_MAX_CONNECTIONS`,
 * `KITH_HEADERS_TIMEOUT_MS`, `KITH_REQUEST_TIMEOUT_MS`. Command-line flags override what this returns.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  const rateLimit = env.KITH_RATE_LIMIT === undefined || env.KITH_RATE_LIMIT === '' ? 20_000 : Number(env.KITH_RATE_LIMIT);
  if (!Number.isFinite(rateLimit) || rateLimit <= 0) throw new Error(`KITH_RATE_LIMIT must be a positive number of messages per second, got "${env.KITH_RATE_LIMIT}"`);
  const corsOrigins = env.KITH_CORS_ORIGINS === undefined || env.KITH_CORS_ORIGINS === '' ? DEFAULT_CORS_ORIGINS : parseCorsOrigins(env.KITH_CORS_ORIGINS, 'KITH_CORS_ORIGINS');
  const headersTimeoutMs = positiveInteger(env, 'KITH_HEADERS_TIMEOUT_MS', DEFAULT_LIMITS.headersTimeoutMs);
  const requestTimeoutMs = positiveInteger(env, 'KITH_REQUEST_TIMEOUT_MS', DEFAULT_LIMITS.requestTimeoutMs);
  if (headersTimeoutMs > requestTimeoutMs) throw new Error(`KITH_HEADERS_TIMEOUT_MS (${headersTimeoutMs}) must not exceed KITH_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  return Object.freeze({
    rateLimit,
    db: env.KITH_DB !== undefined && env.KITH_DB !== '' ? env.KITH_DB : DEFAULT_DB_PATH,
    host: env.HOST !== undefined && env.HOST !== '' ? env.HOST : '127.0.0.1',
    port,
    logLevel: env.KITH_LOG_LEVEL ?? 'info',
    shutdownGraceMs: 10_000,
    corsOrigins,
    limits: Object.freeze({ maxConnections: positiveInteger(env, 'KITH_MAX_CONNECTIONS', DEFAULT_LIMITS.maxConnections), headersTimeoutMs, requestTimeoutMs }),
  });
}

/**
 * Reads a CORS origin setting (`KITH_CORS_ORIGINS`, `kith serve --cors-origins`): `*`, `none`, or
 * comma-separated origins `scheme://host[:port]`, each exactly as a browser sends it in `Origin`
 * (no path, no trailing slash). Throws naming `name` when an entry is not such an origin.
 */
export function parseCorsOrigins(text: string, name: string): CorsOrigins {
  const trimmed = text.trim();
  if (trimmed === '*') return '*';
  if (trimmed === 'none') return Object.freeze([]);
  const origins = trimmed.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || parsed.origin === 'null' || parsed.origin !== origin) {
      throw new Error(`${name} must be "*", "none" or comma-separated origins such as https://shop.example.com; "${origin}" is not one as browsers send it (lower-case, no path, no default port)`);
    }
  }
  if (origins.length === 0) throw new Error(`${name} is empty; use "none" to turn CORS off`);
  return Object.freeze(origins);
}

function positiveInteger(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}
