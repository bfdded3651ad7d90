import { join } from 'node:path';

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
}

export const DEFAULT_DB_PATH = join('data', 'kith.db');

/**
 * The only reader of environment variables, as a pure function: `KITH_DB`, `PORT`, `HOST`,
 * `KITH_LOG_LEVEL`, `KITH_RATE_LIMIT`. Command-line flags override what this returns.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  const rateLimit = env.KITH_RATE_LIMIT === undefined || env.KITH_RATE_LIMIT === '' ? 20_000 : Number(env.KITH_RATE_LIMIT);
  if (!Number.isFinite(rateLimit) || rateLimit <= 0) throw new Error(`KITH_RATE_LIMIT must be a positive number of messages per second, got "${env.KITH_RATE_LIMIT}"`);
  return Object.freeze({
    rateLimit,
    db: env.KITH_DB !== undefined && env.KITH_DB !== '' ? env.KITH_DB : DEFAULT_DB_PATH,
    host: env.HOST !== undefined && env.HOST !== '' ? env.HOST : '127.0.0.1',
    port,
    logLevel: env.KITH_LOG_LEVEL ?? 'info',
    shutdownGraceMs: 10_000,
  });
}
