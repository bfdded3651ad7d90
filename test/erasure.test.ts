import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { request, startServer, type TestServer } from './harness.ts';
import { createTestDatabase } from './postgres-database.ts';

/**
 * Privacy, end to end on the embedded store: a person's marker values (email, user id, cookie,
 * traits, event properties) go in through the real Tracking API; erasure through the admin API
 * must leave none of their bytes in the database files (`.db`, `-wal`, `-shm`), keep them out when
 * their old messages are delivered again, and leave everyone else as they were.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

const BASE = (s: TestServer, id: string): string => `${s.url}/v1/spaces/default/collections/users/profiles/${encodeURIComponent(id)}`;

function storeFiles(dbPath: string): string[] {
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((p) => existsSync(p));
}

/** Which markers occur anywhere in the raw bytes of the store's files. */
function markersIn(dbPath: string, markers: readonly string[]): string[] {
  const found = new Set<string>();
  for (const file of storeFiles(dbPath)) {
    const bytes = readFileSync(file);
    for (const m of markers) if (bytes.includes(Buffer.from(m, 'utf8'))) found.add(`${m} in ${file.slice(dbPath.length) || '.db'}`);
  }
  return [...found].sort();
}

function person(tag: string) {
  const email = `erase-me-${tag}@marker.example`;
  const userId = `user-marker-${tag}`;
  const anonymousId = `cookie-marker-${tag}`;
  const traitValue = `TraitMarker${tag}`;
  const oldTraitValue = `OldTraitMarker${tag}`;
  const propValue = `PropMarker${tag}`;
  const rejectedValue = `RejectedMarker${tag}`;
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const at = (min: number): string => new Date(t0 + min * 60_000).toISOString();
  const trackId = randomUUID();
  const messages = [
    { type: 'page', messageId: randomUUID(), anonymousId, name: 'Home', properties: { url: `https://shop.example/?ref=${propValue}` }, timestamp: at(1) },
    // Seen as a user and as a cookie separately first: the identify below merges the two (history).
    { type: 'track', messageId: randomUUID(), userId, event: 'Signed Up', timestamp: at(1.5) },
    // An earlier value of a trait, overwritten later: its old copy must not survive either.
    { type: 'identify', messageId: randomUUID(), userId, anonymousId, traits: { email, nickname: oldTraitValue }, timestamp: at(2) },
    {
      type: 'identify',
      messageId: randomUUID(),
      userId,
      traits: { email, nickname: traitValue, plan: 'pro' },
      context: { device: { id: 'family-tablet-1' }, consent: { categoryPreferences: { Advertising: true, Analytics: false } } },
      timestamp: at(3),
    },
    { type: 'track', messageId: trackId, userId, event: 'Order Completed', properties: { note: propValue, revenue: 42 }, timestamp: at(4) },
    // Consent given later wins per purpose, whatever the arrival order (this one arrives last).
    { type: 'track', messageId: randomUUID(), userId, event: 'Consent Updated', context: { consent: { categoryPreferences: { Analytics: true } } }, timestamp: at(5) },
  ];
  // The same message id first arrived invalid (no event name): it sits in the rejected log.
  const rejected = { type: 'track', messageId: trackId, userId, properties: { note: rejectedValue } };
  // An invalid message of the person's with no message id of theirs: found by their email.
  const rejectedByValue = { type: 'track', userId: 'some-crm-row', properties: { contact: email.toUpperCase(), note: `Unlinked${rejectedValue}` } };
  return {
    email,
    userId,
    anonymousId,
    traitValue,
    propValue,
    messages,
    rejected,
    rejectedByValue,
    markers: [email, email.toUpperCase(), userId, anonymousId, traitValue, oldTraitValue, propValue, rejectedValue],
  };
}

/** Other people, enough of them that every table spans many pages and B-tree pages split. */
function crowd(n: number, tag: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    const userId = `other-${tag}-${i}`;
    out.push({ type: 'identify', messageId: randomUUID(), userId, anonymousId: `oc-${tag}-${i}`, traits: { email: `other${i}-${tag}@example.com`, bio: 'x'.repeat(200) } });
    out.push({ type: 'track', messageId: randomUUID(), userId, event: 'Viewed', properties: { sku: `sku-${i}`, padding: 'y'.repeat(300) } });
  }
  return out;
}

describe('erasing a person', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('leaves no marker in the database files, keeps the person out on replay, and leaves others untouched', async () => {
    if (process.env.KITH_TEST_STORE === 'postgres') return; // the byte scan is of the SQLite files
    const dir = mkdtempSync(join(tmpdir(), 'kith-erase-'));
    try {
      server = await startServer({ db: join(dir, 'kith.db') });
      const markers = await eraseScenario(server, { scanFiles: true });
      // After a clean close too: still nothing.
      await server.close();
      server = undefined;
      expect(markersIn(join(dir, 'kith.db'), markers)).toEqual([]);
    } finally {
      await server?.close();
      server = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('erases the same way on PostgreSQL', async () => {
    const db = await createTestDatabase('kith_erase');
    try {
      server = await startServer({ db: db.url });
      await eraseScenario(server, { scanFiles: false });
    } finally {
      await server?.close();
      server = undefined;
      await db.drop();
    }
  }, 60_000);

  it('erases and exports from the command line, and rejects what cannot be erased', async () => {
    if (process.env.KITH_TEST_STORE === 'postgres') return;
    const dir = mkdtempSync(join(tmpdir(), 'kith-erase-cli-'));
    const dbPath = join(dir, 'kith.db');
    try {
      server = await startServer({ db: dbPath });
      const s = server;
      const write = s.basic(s.keys.writeKey);
      const admin = s.basic(s.keys.adminKey);
      const tag = randomBytes(6).toString('hex');
      const a = person(tag);
      expect((await request(`${s.url}/v1/batch`, { auth: write, body: { batch: a.messages } })).status).toBe(200);
      // Bad requests are 4xx JSON errors naming the problem.
      const bad = await request(BASE(s, 'no-colon'), { method: 'DELETE', auth: admin });
      expect(bad.status).toBe(400);
      expect(bad.body.error.code).toBe('invalid_identifier');
      expect((await request(BASE(s, 'email:nobody@nowhere.example'), { method: 'DELETE', auth: admin })).body.error.code).toBe('not_found');
      expect((await request(BASE(s, 'email:nobody@nowhere.example'), { method: 'DELETE' })).status).toBe(401);
      await s.close();
      server = undefined;

      const env = { ...process.env, KITH_DB: join(dir, 'decoy.db'), KITH_LOG_LEVEL: 'warn' };
      const kith = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin', 'kith.js'), ...args, '--db', dbPath], { env, timeout: 30_000 });
      const exported = JSON.parse((await kith('export-person', `user_id:${a.userId}`)).stdout);
      expect(exported.traits.nickname.value).toBe(a.traitValue);
      const profile = (await kith('profile', `email:${a.email}`)).stdout;
      expect(profile).toMatch(/Advertising: granted/);
      expect(profile).toMatch(/Analytics: granted/);
      const erased = JSON.parse((await kith('erase', `anonymous_id:${a.anonymousId}`, '--json')).stdout);
      expect(erased).toMatchObject({ messagesDeleted: 6, identifiersSuppressed: 4, scrubbed: { complete: true } });
      await expect(kith('profile', `email:${a.email}`)).rejects.toMatchObject({ stderr: expect.stringMatching(/no profile/) });
      expect(markersIn(dbPath, a.markers.filter((m) => !m.startsWith('RejectedMarker')))).toEqual([]);
    } finally {
      await server?.close();
      server = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

/** The whole story on a running server; `scanFiles` also scans the SQLite files' bytes. */
async function eraseScenario(s: TestServer, opts: { scanFiles: boolean }): Promise<string[]> {
    const write = s.basic(s.keys.writeKey);
    const read = s.basic(s.keys.readKey);
    const admin = s.basic(s.keys.adminKey);
    const tag = randomBytes(6).toString('hex');
    const a = person(tag);

    // Another person who shares the family tablet with A, and a crowd around them.
    const bUser = `user-b-${tag}`;
    const b = [
      { type: 'identify', messageId: randomUUID(), userId: bUser, traits: { email: `b-${tag}@example.com`, plan: 'family' }, context: { device: { id: 'family-tablet-1' } }, timestamp: '2026-01-01T00:10:00Z' },
      { type: 'track', messageId: randomUUID(), userId: bUser, event: 'Song Played', context: { device: { id: 'family-tablet-1' } }, timestamp: '2026-01-01T00:11:00Z' },
    ];
    const others = crowd(400, tag);
    const rejectedFirst = await request(`${s.url}/v1/batch`, { auth: write, body: { batch: [a.rejected, a.rejectedByValue, ...others.slice(0, 200)] } });
    expect(rejectedFirst.body.rejected).toHaveLength(2);
    const [last, ...rest] = [...a.messages].reverse();
    for (const [i, m] of [...rest.reverse(), ...b].entries()) {
      const res = await request(`${s.url}/v1/batch`, { auth: write, body: { batch: [m, ...others.slice(200 + i * 20, 220 + i * 20)] } });
      expect(res.status).toBe(200);
    }
    expect((await request(`${s.url}/v1/batch`, { auth: write, body: { batch: [last, ...others.slice(340)] } })).status).toBe(200);

    // Consent: per purpose, the latest event wins.
    const consent = await request(`${BASE(s, `email:${a.email}`)}/consent`, { auth: read });
    expect(consent.status).toBe(200);
    expect(consent.body.consent).toEqual({ categoryPreferences: { Advertising: true, Analytics: true } });
    const bBefore = await request(`${BASE(s, `user_id:${bUser}`)}/traits`, { auth: read });
    const bEventsBefore = await request(`${BASE(s, `user_id:${bUser}`)}/events?limit=100`, { auth: read });
    expect(bEventsBefore.body.data).toHaveLength(2);
    const tabletBefore = await request(`${BASE(s, 'device_id:family-tablet-1')}/metadata`, { auth: read });
    const aProfile = (await request(`${BASE(s, `user_id:${a.userId}`)}/metadata`, { auth: read })).body.metadata.profile_id as string;
    expect(tabletBefore.body.metadata.profile_id).toBe(aProfile);

    // Export: everything about A in one document (admin key only).
    expect((await request(`${BASE(s, `email:${a.email}`)}/export`, { auth: read })).status).toBe(403);
    const exported = await request(`${BASE(s, `email:${a.email}`)}/export`, { auth: admin });
    expect(exported.status).toBe(200);
    const doc = exported.body;
    expect(doc.profile_id).toBe(aProfile);
    expect(doc.identifiers.map((i: { type: string; value: string }) => `${i.type}:${i.value}`).sort()).toEqual(
      [`anonymous_id:${a.anonymousId}`, 'device_id:family-tablet-1', `email:${a.email}`, `user_id:${a.userId}`].sort(),
    );
    expect(doc.traits.nickname).toMatchObject({ value: a.traitValue });
    expect(doc.consent.Analytics).toMatchObject({ granted: true });
    const own = doc.events.filter((e: { attributed: boolean }) => e.attributed);
    expect(own).toHaveLength(6);
    expect(JSON.stringify(own)).toContain(a.propValue);
    // B's tablet events are listed (they carry A's tablet) but their bodies are B's, not disclosed.
    const foreign = doc.events.filter((e: { attributed: boolean }) => !e.attributed);
    expect(foreign).toHaveLength(2);
    expect(foreign.every((e: { message: unknown }) => e.message === null)).toBe(true);
    expect(JSON.stringify(doc)).not.toContain(bUser);
    expect(doc.evidence.find((e: { message_id: string }) => e.message_id === a.messages[4]!.messageId).identifiers).toEqual([`user_id:${a.userId}`]);
    expect(doc.history.length).toBeGreaterThan(0);

    if (opts.scanFiles) expect(markersIn(s.dbPath, a.markers).length).toBeGreaterThan(0); // the scan can see them

    // Only the admin key may erase.
    expect((await request(BASE(s, `email:${a.email}`), { method: 'DELETE', auth: read })).status).toBe(403);
    const erased = await request(BASE(s, `email:${a.email.toUpperCase()}`), { method: 'DELETE', auth: admin });
    expect(erased.status).toBe(200);
    expect(erased.body).toMatchObject({ erased: true, messages_deleted: 6, identifiers_suppressed: 3, identifiers_shared: 1, rejected_deleted: 2, scrubbed: { complete: true } });
    expect(erased.body.profile_ids).toContain(aProfile);

    // The raw files, while the server still runs: none of A's values anywhere.
    if (opts.scanFiles) expect(markersIn(s.dbPath, a.markers)).toEqual([]);

    // A is gone from every read path.
    for (const id of [`email:${a.email}`, `user_id:${a.userId}`, `anonymous_id:${a.anonymousId}`, `profile_id:${aProfile}`]) {
      expect((await request(`${BASE(s, id)}/traits`, { auth: read })).status).toBe(404);
    }
    expect((await request(BASE(s, `email:${a.email}`), { method: 'DELETE', auth: admin })).status).toBe(404);

    // Old messages delivered again, and a new one with A's email: dropped, reported, not stored.
    const replay = await request(`${s.url}/v1/batch`, { auth: write, body: { batch: a.messages } });
    expect(replay.status).toBe(200);
    expect(replay.body.accepted).toBe(0);
    expect(replay.body.rejected.map((r: { code: string }) => r.code)).toEqual(Array(6).fill('suppressed'));
    const comeback = await request(`${s.url}/v1/identify`, { auth: write, body: { anonymousId: `new-cookie-${tag}`, traits: { email: a.email, nickname: 'back' } } });
    expect(comeback.body.rejected?.[0]?.code ?? comeback.body.error?.code).toBe('suppressed');
    expect((await request(`${BASE(s, `email:${a.email}`)}/traits`, { auth: read })).status).toBe(404);
    expect((await request(`${BASE(s, `anonymous_id:new-cookie-${tag}`)}/traits`, { auth: read })).status).toBe(404);
    const log = await request(`${s.url}/v1/spaces/default/rejected?limit=50`, { auth: admin });
    const suppressedRows = log.body.data.filter((r: { code: string }) => r.code === 'suppressed');
    expect(suppressedRows).toHaveLength(7);
    expect(suppressedRows.every((r: { body: string }) => r.body === '')).toBe(true);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/kith_messages_rejected_total\{reason="suppressed"\} 7/);

    // B is untouched, and now holds the tablet alone.
    expect((await request(`${BASE(s, `user_id:${bUser}`)}/traits`, { auth: read })).body).toEqual(bBefore.body);
    expect((await request(`${BASE(s, `user_id:${bUser}`)}/events?limit=100`, { auth: read })).body.data).toEqual(bEventsBefore.body.data);
    const bProfile = (await request(`${BASE(s, `user_id:${bUser}`)}/metadata`, { auth: read })).body.metadata.profile_id;
    expect((await request(`${BASE(s, 'device_id:family-tablet-1')}/metadata`, { auth: read })).body.metadata.profile_id).toBe(bProfile);
    const crowdMember = await request(`${BASE(s, `user_id:other-${tag}-7`)}/traits`, { auth: read });
    expect(crowdMember.body.traits).toMatchObject({ email: `other7-${tag}@example.com` });

    // After the replay: still nothing.
    if (opts.scanFiles) expect(markersIn(s.dbPath, a.markers)).toEqual([]);
    return a.markers;
}
