import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { request, startServer, type TestServer } from './harness.ts';
import { createTestDatabase, type TestDatabase } from './postgres-database.ts';

const BIN = fileURLToPath(new URL('../bin/kith.js', import.meta.url));
const PROFILES = '/v1/spaces/default/collections/users/profiles';
const HOUR = 3_600_000;

/**
 * kith on PostgreSQL as a user runs it: the real HTTP server with `--db postgres://...` on a new
 * database (migrated at start), a second node on the same database, and `kith migrate`.
 */
describe('kith on PostgreSQL, end to end', () => {
  let db: TestDatabase;
  let t: TestServer;
  beforeAll(async () => {
    db = await createTestDatabase('kith_e2e');
    t = await startServer({ db: db.url });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const iso = (ms: number): string => new Date(ms).toISOString();
  const profile = (base: string, id: string, resource: string) =>
    request(`${base}${PROFILES}/${encodeURIComponent(id)}/${resource}`, { auth: t.basic(t.keys.readKey) });

  it('ingests a batch, serves the profile through the Profile API and explains the link', async () => {
    const start = Date.now() - 5 * HOUR;
    const batch = {
      batch: [
        { type: 'page', anonymousId: 'pg-anon-1', name: 'Home', timestamp: iso(start), messageId: 'pg-1' },
        {
          type: 'identify',
          userId: 'pg-user-1',
          anonymousId: 'pg-anon-1',
          traits: { email: 'Ada@Example.com', name: 'Ada', plan: 'pro', note: 'nul \u0000 and \ud800 inside' },
          timestamp: iso(start + HOUR),
          messageId: 'pg-2',
        },
        { type: 'track', anonymousId: 'pg-anon-2', event: 'Added to Cart', properties: { sku: 'A-1' }, timestamp: iso(start + 2 * HOUR), messageId: 'pg-3' },
        // A login on the second device joins its cookie to the user.
        { type: 'track', userId: 'pg-user-1', anonymousId: 'pg-anon-2', event: 'Order Completed', properties: { total: 42.5 }, timestamp: iso(start + 3 * HOUR), messageId: 'pg-4' },
        { type: 'track', userId: 'pg-user-1', event: 'Order Completed', timestamp: iso(start + 3 * HOUR), messageId: 'pg-4' },
        { type: 'track', userId: 'pg-user-1' },
      ],
    };
    const sent = await request(`${t.url}/v1/batch`, { body: batch, auth: t.basic(t.keys.writeKey) });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ success: true, accepted: 4, duplicates: 1 });
    expect(sent.body.rejected).toHaveLength(1);

    // Read-your-writes: the 200 means the profile already reflects the batch.
    const traits = await profile(t.url, 'email:ada@example.com', 'traits');
    expect(traits.status, JSON.stringify(traits.body)).toBe(200);
    expect(traits.body.traits).toEqual({ email: 'Ada@Example.com', name: 'Ada', plan: 'pro', note: 'nul \ufffd and \ufffd inside' });
    const ids = await profile(t.url, 'user_id:pg-user-1', 'external_ids');
    expect(ids.body.data.map((d: { type: string; id: string }) => `${d.type}:${d.id}`).sort()).toEqual([
      'anonymous_id:pg-anon-1',
      'anonymous_id:pg-anon-2',
      'email:ada@example.com',
      'user_id:pg-user-1',
    ]);
    const events = await profile(t.url, 'anonymous_id:pg-anon-2', 'events?limit=2');
    expect(events.body.data.map((e: { message_id: string }) => e.message_id)).toEqual(['pg-4', 'pg-3']);
    expect(events.body.data[0]).toMatchObject({ event: 'Order Completed', properties: { total: 42.5 } });
    const rest = await request(`${t.url}${events.body.cursor.url}?limit=2&next=${encodeURIComponent(events.body.cursor.next)}`, { auth: t.basic(t.keys.readKey) });
    expect(rest.body.data.map((e: { message_id: string }) => e.message_id)).toEqual(['pg-2', 'pg-1']);
    expect(rest.body.cursor.has_more).toBe(false);

    const why = await profile(t.url, 'anonymous_id:pg-anon-1', `explain?to=${encodeURIComponent('anonymous_id:pg-anon-2')}`);
    expect(why.status, JSON.stringify(why.body)).toBe(200);
    expect(why.body.linked).toBe(true);
    expect(why.body.path.map((s: { messageId: string }) => s.messageId).sort()).toEqual(['pg-2', 'pg-4']);

    const rejected = await request(`${t.url}/v1/spaces/default/rejected`, { auth: t.basic(t.keys.adminKey) });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(JSON.stringify(rejected.body)).toMatch(/missing_field|event/);
  });

  it('re-resolves late evidence and identifier deletion: merges keep the older id, splits keep old ids resolving', async () => {
    const start = Date.now() - 10 * HOUR;
    const send = (body: unknown) => request(`${t.url}/v1/batch`, { body, auth: t.basic(t.keys.writeKey) });
    expect((await send({ batch: [{ type: 'identify', anonymousId: 'late-b', traits: { email: 'late@example.com', name: 'B' }, timestamp: iso(start + 2 * HOUR), messageId: 'late-2' }] })).status).toBe(200);
    expect((await send({ batch: [{ type: 'identify', anonymousId: 'late-a', traits: { name: 'A' }, timestamp: iso(start + HOUR), messageId: 'late-1' }] })).status).toBe(200);
    const younger = (await profile(t.url, 'email:late@example.com', 'metadata')).body.metadata.profile_id as string;
    const older = (await profile(t.url, 'anonymous_id:late-a', 'metadata')).body.metadata.profile_id as string;
    expect(younger).not.toBe(older);

    // Arrives last, happened first: joins both cookies through the email, so the older profile survives.
    expect((await send({ batch: [{ type: 'identify', anonymousId: 'late-a', traits: { email: 'late@example.com' }, timestamp: iso(start), messageId: 'late-0' }] })).status).toBe(200);
    const merged = (await profile(t.url, 'email:late@example.com', 'metadata')).body.metadata.profile_id as string;
    expect((await profile(t.url, 'anonymous_id:late-b', 'metadata')).body.metadata.profile_id).toBe(merged);
    expect((await profile(t.url, `profile_id:${younger}`, 'metadata')).body.metadata.profile_id).toBe(merged);
    expect((await profile(t.url, 'email:late@example.com', 'traits')).body.traits).toEqual({ email: 'late@example.com', name: 'B' });

    // Deleting the email, the only thing holding the two cookies together, splits them again.
    const path = `${t.url}${PROFILES}/${encodeURIComponent(`profile_id:${merged}`)}/external_ids/${encodeURIComponent('email:late@example.com')}`;
    const del = await request(path, { method: 'DELETE', auth: t.basic(t.keys.adminKey) });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    const a = (await profile(t.url, 'anonymous_id:late-a', 'metadata')).body.metadata.profile_id as string;
    const b = (await profile(t.url, 'anonymous_id:late-b', 'metadata')).body.metadata.profile_id as string;
    expect(a).not.toBe(b);
    expect((await profile(t.url, 'email:late@example.com', 'traits')).status).toBe(404);
    const history = await profile(t.url, `profile_id:${merged}`, 'history');
    expect(history.status === 200 || history.status === 300, JSON.stringify(history.body)).toBe(true);
  });

  it('serves the same graph from a second node on the same database', async () => {
    let second: App | undefined;
    let server: ReturnType<typeof buildServer> | undefined;
    try {
      second = await createApp({ db: db.url });
      server = buildServer(second);
      await server.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
      // Written through the second node, read through the first, and the other way round.
      const sent = await request(`${url}/v1/identify`, { body: { userId: 'pg-user-1', traits: { plan: 'team' }, messageId: 'node-2-1' }, auth: t.basic(t.keys.writeKey) });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect((await profile(t.url, 'email:ada@example.com', 'traits')).body.traits.plan).toBe('team');
      expect((await profile(url, 'anonymous_id:pg-anon-2', 'traits')).body.traits.plan).toBe('team');
      // Only one `default` workspace, whichever node asks.
      expect((await second.workspaces.list()).map((w) => w.name)).toEqual(['default']);
    } finally {
      await server?.close();
      await second?.close();
    }
  });
});

describe('kith migrate', () => {
  it('migrates a new database once, then reports it up to date; one-line error for a SQLite path', async () => {
    const db = await createTestDatabase('kith_e2e');
    const run = promisify(execFile);
    try {
      const first = await run(process.execPath, [BIN, 'migrate', '--db', db.url]);
      expect(first.stdout).toMatch(/schema migrated from version 0 to \d+/);
      const again = await run(process.execPath, [BIN, 'migrate', '--db', db.url]);
      expect(again.stdout).toMatch(/schema is up to date/);
      const wrong = await run(process.execPath, [BIN, 'migrate', '--db', 'data/some.db']).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(wrong?.code).toBe(1);
      expect(wrong?.stderr.trim().split('\n')).toHaveLength(1);
      expect(wrong?.stderr).toMatch(/^kith: migrate needs a PostgreSQL URL/);
    } finally {
      await db.drop();
    }
  });
});
