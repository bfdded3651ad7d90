import { describe, expect, it } from 'vitest';
import { sortKeys } from '../src/identity/extract-identifiers.ts';
import { identifierKey, type IdentifierKey } from '../src/identity/identifier.ts';
import { resolveBatch, type PreparedMessage } from '../src/identity/resolve-batch.ts';
import { DEFAULT_RULES } from '../src/identity/rules.ts';
import type { JsonObject } from '../src/spec/segment-message.ts';
import { migratePostgres, openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import type { Store, WorkspaceId } from '../src/store/ports.ts';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { describeStoreContract } from './store-contract.ts';
import { createTestDatabase, type TestDatabase } from './postgres-database.ts';
import { createRandom } from '../src/random.ts';

const databases = new WeakMap<Store, TestDatabase>();

describeStoreContract('postgres', {
  async open() {
    const db = await createTestDatabase('kith_contract');
    try {
      await migratePostgres(db.url);
      const store = await openPostgresStore({ url: db.url });
      databases.set(store, db);
      return store;
    } catch (err) {
      await db.drop();
      throw err;
    }
  },
  async dispose(store) {
    await store.close();
    await databases.get(store)?.drop();
  },
});

describe('postgres store: migrations', () => {
  it('applies the migrations once when several nodes migrate a new database at the same time', async () => {
    const db = await createTestDatabase('kith_migrate');
    try {
      const runs = await Promise.all([migratePostgres(db.url), migratePostgres(db.url), migratePostgres(db.url)]);
      // Exactly one run found the empty database; the others waited for it and had nothing to do.
      expect(runs.map((r) => r.from).sort((a, b) => a - b)).toEqual([0, runs[0]!.to, runs[0]!.to]);
      expect(new Set(runs.map((r) => r.to)).size).toBe(1);
      expect(await migratePostgres(db.url)).toEqual({ from: runs[0]!.to, to: runs[0]!.to });
      const store = await openPostgresStore({ url: db.url });
      await store.close();
    } finally {
      await db.drop();
    }
  });

  it('refuses to open a database that was never migrated, naming the command that fixes it', async () => {
    const db = await createTestDatabase('kith_migrate');
    try {
      await expect(openPostgresStore({ url: db.url })).rejects.toThrow(/kith migrate --db/);
      const store = await openPostgresStore({ url: db.url, migrate: true });
      await store.close();
    } finally {
      await db.drop();
    }
  });
});

/**
 * Multichannel traffic for `people` customers, in shuffled arrival order: anonymous browsing, logins
 * that join cookies to a user id, identify calls carrying traits (so survivorship is exercised),
 * families sharing a tablet (merge protection keeps the user ids apart), and one phone number shared
 * by many people (quarantined), with event times spread so many messages arrive late.
 */
function traffic(people: number, seed: number): PreparedMessage[] {
  const rnd = createRandom(seed).next; // seeded, so a failure can be replayed
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: PreparedMessage[] = [];
  const HOUR = 3_600_000;
  let n = 0;
  const add = (keys: IdentifierKey[], traits: JsonObject | null): void => {
    const id = `msg-${String(n++).padStart(4, '0')}`;
    const t = 1_700_000_000_000 + Math.floor(rnd() * 48) * HOUR + (n % 7);
    const type = traits === null ? 'track' : 'identify';
    out.push({
      messageId: id,
      type,
      event: type === 'track' ? 'Viewed' : null,
      t,
      receivedAt: t + 1000,
      source: pick(['web', 'app', 'pos']),
      keys: sortKeys([...new Set(keys)], DEFAULT_RULES),
      traits,
      body: JSON.stringify({ type, messageId: id, ...(traits === null ? { event: 'Viewed' } : { traits }) }),
    });
  };
  const sharedPhone = identifierKey('phone', '+14155550199');
  for (let p = 0; p < people; p++) {
    const user = identifierKey('user_id', `u${p}`);
    const email = identifierKey('email', `p${p}@example.com`);
    const cookies = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, i) => identifierKey('anonymous_id', `a${p}-${i}`));
    const tablet = identifierKey('device_id', `tablet-${Math.floor(p / 2)}`);
    for (const cookie of cookies) {
      add([cookie], null);
      add([user, cookie], null);
    }
    add([user, email, pick(cookies)], { plan: pick(['free', 'pro', 'team']), seen: Math.floor(rnd() * 100) });
    add([email, pick(cookies)], { name: `Person ${p}`, plan: pick(['free', 'pro']) });
    if (p % 5 === 0) add([user, tablet], { device: 'tablet' });
    if (p % 4 === 0) add([email, sharedPhone], { phone: '+14155550199' });
  }
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

const CONCURRENT_WS = 'ws_concurrency' as WorkspaceId;

async function resolveAll(store: Store, messages: readonly PreparedMessage[], batchSize: number): Promise<void> {
  for (let i = 0; i < messages.length; i += batchSize) {
    const batch = messages.slice(i, i + batchSize);
    await store.write((tx) => resolveBatch(tx, { id: CONCURRENT_WS, rules: DEFAULT_RULES }, batch, 0));
  }
}

/** What a user of the graph sees: each identifier's profile (or quarantine), each profile's traits. */
async function graph(store: Store, keys: readonly IdentifierKey[]): Promise<{ identifiers: Record<string, string>; traits: Record<string, unknown>; messages: number }> {
  const identifiers: Record<string, string> = {};
  const traits: Record<string, unknown> = {};
  for (const s of await store.read.loadIdentifiers(CONCURRENT_WS, keys)) {
    identifiers[s.key] = s.quarantined ? 'quarantined' : (s.profileId ?? 'unresolved');
    if (s.profileId !== null && !(s.profileId in traits)) traits[s.profileId] = (await store.read.loadProfile(CONCURRENT_WS, s.profileId))?.traits ?? 'missing profile';
  }
  return { identifiers, traits, messages: (await store.read.stats(CONCURRENT_WS)).messages };
}

describe('postgres store: concurrent resolvers', () => {
  it('two processes resolving overlapping batches at once build the graph one resolver builds alone', async () => {
    const messages = traffic(40, 7);
    const keys = [...new Set(messages.flatMap((m) => m.keys))].sort();
    const serialDb = await createTestDatabase('kith_serial');
    const sharedDb = await createTestDatabase('kith_shared');
    const stores: Store[] = [];
    // Conflicting units of work are retried (SQLSTATE 40001 or 40P01); anything else would fail the test.
    const retries: string[] = [];
    try {
      const open = async (url: string): Promise<Store> => {
        const store = await openPostgresStore({ url, migrate: true, maxConnections: 2, onRetry: (r) => retries.push(r.code) });
        stores.push(store);
        return store;
      };
      const serial = await open(serialDb.url);
      await serial.admin.createWorkspace({ id: CONCURRENT_WS, name: 'concurrency', createdAt: 0, rules: DEFAULT_RULES });
      await resolveAll(serial, messages, 7);

      // Two stores with pools of their own stand for two worker processes; the first also runs two
      // units of work at a time, as one process with several group commits in flight does. Their
      // inputs overlap by a fifth of the traffic (delivered twice, in other orders and batchings).
      const a = await open(sharedDb.url);
      const b = await open(sharedDb.url);
      await a.admin.createWorkspace({ id: CONCURRENT_WS, name: 'concurrency', createdAt: 0, rules: DEFAULT_RULES });
      const cut = Math.floor(messages.length * 0.4);
      const upper = Math.ceil(messages.length * 0.6);
      const first = messages.slice(0, upper);
      await Promise.all([
        resolveAll(a, first.filter((_, i) => i % 2 === 0), 5),
        resolveAll(a, first.filter((_, i) => i % 2 === 1), 4),
        resolveAll(b, messages.slice(cut).reverse(), 6),
      ]);

      const expected = await graph(serial, keys);
      expect(expected.messages).toBe(messages.length);
      expect(Object.values(expected.identifiers)).toContain('quarantined');
      expect(new Set(Object.values(expected.identifiers)).size).toBeGreaterThan(40);
      expect(await graph(a, keys), `after ${retries.length} retries`).toEqual(expected);

      // And the embedded store, resolving the same traffic in arrival order, agrees with both.
      const sqlite = openSqliteStore({ path: ':memory:' });
      try {
        await sqlite.admin.createWorkspace({ id: CONCURRENT_WS, name: 'concurrency', createdAt: 0, rules: DEFAULT_RULES });
        await resolveAll(sqlite, messages, 7);
        expect(await graph(sqlite, keys)).toEqual(expected);
      } finally {
        await sqlite.close();
      }
    } finally {
      for (const s of stores) await s.close();
      await serialDb.drop();
      await sharedDb.drop();
    }
  });
});
