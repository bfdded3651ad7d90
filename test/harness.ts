import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApp, type App } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';

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

/** A real kith server on a random loopback port with its own SQLite file, and a `default` workspace. */
export async function startServer(opts: { now?: () => number } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'kith-test-'));
  const dbPath = join(dir, 'kith.db');
  const app = createApp({ db: dbPath }, opts.now === undefined ? {} : { now: opts.now });
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
      rmSync(dir, { recursive: true, force: true });
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
