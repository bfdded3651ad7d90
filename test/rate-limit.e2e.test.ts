import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { request } from './harness.ts';
import type { FastifyInstance } from 'fastify';

/** Over its ingest rate a workspace gets 429 with Retry-After, nothing is stored, others go on. */
describe('per-workspace ingest rate limit', () => {
  let app: App;
  let server: FastifyInstance;
  let url: string;
  let dir: string;
  let keys: Record<'default' | 'other', { writeKey: string; readKey: string }>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kith-rate-'));
    app = await createApp({ db: join(dir, 'kith.db') });
    const a = await app.workspaces.create('default');
    const b = await app.workspaces.create('other');
    if (!a.ok || !b.ok) throw new Error('workspaces');
    keys = { default: a.created, other: b.created };
    server = buildServer(app, { rateLimit: { messagesPerSecond: 5, burst: 20 } });
    await server.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await server.close();
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;
  const batch = (n: number, prefix: string) => ({ batch: Array.from({ length: n }, (_, i) => ({ type: 'track', userId: `${prefix}-${i}`, event: 'E', messageId: `${prefix}-${i}` })) });

  it('answers 429 with Retry-After once the burst is spent, and stores nothing of the refused request', async () => {
    const first = await request(`${url}/v1/batch`, { auth: basic(keys.default.writeKey), body: batch(15, 'ok') });
    expect(first.status).toBe(200);
    const refused = await request(`${url}/v1/batch`, { auth: basic(keys.default.writeKey), body: batch(15, 'late') });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const stored = await request(`${url}/v1/spaces/default/collections/users/profiles/user_id:late-0/traits`, { auth: basic(keys.default.readKey) });
    expect(stored.status).toBe(404);
    // Another workspace has a bucket of its own.
    const other = await request(`${url}/v1/batch`, { auth: basic(keys.other.writeKey), body: batch(15, 'other') });
    expect(other.status).toBe(200);
  });
});
