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
}

export const DEFAULT_DB_PATH = join('data', 'kith.db');

/**
 * The only reader of environment variables, as a pure function: `KITH_DB`, `PORT`, `HOST`,
 * `KITH_LOG_LEVEL`. Command-line flags override what this returns.
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const port = env.PORT === undefined || env.PORT === '' ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${env.PORT}"`);
  return Object.freeze({
    db: env.KITH_DB !== undefined && env.KITH_DB !== '' ? env.KITH_DB : DEFAULT_DB_PATH,
    host: env.HOST !== undefined && env.HOST !== '' ? env.HOST : '127.0.0.1',
    port,
    logLevel: env.KITH_LOG_LEVEL ?? 'info',
    shutdownGraceMs: 10_000,
  });
}
