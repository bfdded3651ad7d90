import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApp, type App } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { createTestDatabase } from './postgres-database.ts';

export interface TestServer {
  readonly url: string;
  readonly app: App;
  readonly server: FastifyInstance;
  readonly dbPath: string;
  readonly keys: { writeKey: string; readKey: string; adminKey: string };
  /** `Authorization` header value for a key, Segment-style (Basic, key as username). */
  basic(key: string): string;
  close(): Promise<void>;
}

/**
 * A real kith server on a random loopback port with a `default` workspace, on a store of its own: a
 * new SQLite file, or a new PostgreSQL database when `KITH_TEST_STORE=postgres` (so every end-to-end
 * suite can run against both stores), or the database `db` names (left in place on close).
 */
export async function startServer(opts: { now?: () => number; db?: string } = {}): Promise<TestServer> {
  let dbPath: string;
  let cleanup: () => Promise<void>;
  if (opts.db !== undefined) {
    dbPath = opts.db;
    cleanup = async () => undefined;
  } else if (process.env.KITH_TEST_STORE === 'postgres') {
    const db = await createTestDatabase('kith_e2e');
    dbPath = db.url;
    cleanup = () => db.drop();
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'kith-test-'));
    dbPath = join(dir, 'kith.db');
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const app = await createApp({ db: dbPath }, opts.now === undefined ? {} : { now: opts.now });
  const created = await app.workspaces.create('default');
  if (!created.ok) throw new Error(created.message);
  const server = buildServer(app);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const { writeKey, readKey, adminKey } = created.created;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    server,
    dbPath,
    keys: { writeKey, readKey, adminKey },
    basic: (key) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
    async close() {
      await server.close();
      await app.close();
      await cleanup();
    },
  };
}

/** JSON request helper returning status and parsed body. */
export async function request(
  url: string,
  opts: { method?: string; auth?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.auth !== undefined) headers.authorization = opts.auth;
  let body: string | undefined = typeof opts.rawBody === "string" || opts.rawBody === undefined ? opts.rawBody : (opts.rawBody as unknown as string);
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: opts.method ?? (body === undefined ? 'GET' : 'POST'), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text: the test will say what it expected
  }
  return { status: res.status, body: parsed, headers: res.headers };
}
