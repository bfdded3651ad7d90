import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { IngestService } from '../src/ingest/ingest-service.ts';
import { BusIntake } from '../src/bus/bus-intake.ts';
import { generateDataset, shuffled } from '../src/demo/generate-dataset.ts';
import type { IdentifierKey } from '../src/identity/identifier.ts';
import type { ProfileId, Store, Workspace, WorkspaceId } from '../src/store/ports.ts';
import { createTestDatabase } from './postgres-database.ts';
import { dropTestStream, eventually, NATS_URL, spawnKith, testBus, testStreamName, type KithChild } from './bus-harness.ts';
import { request } from './harness.ts';

const BATCH = 100;

/**
 * Sequence neutrality across stores and processes: one generated multichannel dataset resolved
 * (a) by one process into SQLite, in chronological order, and (b) by three `kith worker` processes
 * into PostgreSQL through JetStream, in shuffled order — with and without one worker SIGKILLed
 * halfway — gives the same graph: the same identifiers in the same profiles under the same ids,
 * the same traits, and every message attributed once.
 */
describe('convergence: SQLite in one process = PostgreSQL through JetStream with three workers', () => {
  const data = generateDataset({ people: 100, seed: 11 });
  const distinct = new Set(data.messages.map((m) => m.messageId as string)).size;
  let expected: Snapshot;
  let workspace: Workspace;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kith-conv-'));
    const app = await createApp({ db: join(dir, 'kith.db') });
    try {
      const created = await app.workspaces.create('default');
      if (!created.ok) throw new Error(created.message);
      workspace = created.created.workspace;
      const ingest = new IngestService(app.committer, app.now);
      for (let i = 0; i < data.messages.length; i += BATCH) {
        const result = await ingest.batch(workspace, 'default', { batch: data.messages.slice(i, i + BATCH) });
        if (!result.ok || result.rejected.length > 0) throw new Error(`SQLite ingest refused messages: ${JSON.stringify(result)}`);
      }
      expected = await snapshot(app.store, workspace.id);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(expected.messages).toBe(distinct);
    // A graph worth comparing: many people, merges across devices and channels.
    expect(expected.profiles.length).toBeGreaterThan(50);
    expect(expected.identifiers.length).toBeGreaterThan(2 * expected.profiles.length);
  }, 60_000);

  it('gives identical profiles with arrival order shuffled', async () => {
    const got = await throughJetStream({ seed: 1, killOne: false });
    expect(got.snapshot).toEqual(expected);
  }, 90_000);

  it('gives identical profiles when a worker is SIGKILLed in the middle: nothing lost, nothing doubled', async () => {
    const got = await throughJetStream({ seed: 2, killOne: true });
    // The killed worker held messages it had not acknowledged: JetStream gave them to the others.
    expect(got.redelivered).toBeGreaterThan(0);
    expect(got.snapshot).toEqual(expected);
  }, 90_000);

  async function throughJetStream(opts: { seed: number; killOne: boolean }): Promise<{ snapshot: Snapshot; redelivered: number }> {
    const db = await createTestDatabase('kith_conv');
    const stream = testStreamName('KITH_CONV');
    // Created here first, so this test's short ack wait applies: a crashed worker's messages come back in 2 s.
    const bus = await testBus(stream, { create: true, ackWaitMs: 2000 });
    const app = await createApp({ db: db.url });
    const workers: KithChild[] = [];
    const intake = new BusIntake({ bus, local: app.committer, store: app.store, waitMs: 0 });
    try {
      // The same workspace id: profile ids derive from it.
      await app.store.write(() => app.store.admin.createWorkspace({ id: workspace.id, name: workspace.name, createdAt: workspace.createdAt, rules: workspace.rules }));
      await intake.start();
      // Everything is in the stream before any worker runs, so the kill below lands mid-stream.
      const ingest = new IngestService(intake, app.now);
      const order = shuffled(data.messages, opts.seed);
      for (let i = 0; i < order.length; i += BATCH) {
        const result = await ingest.batch(workspace, 'default', { batch: order.slice(i, i + BATCH) });
        if (!result.ok || result.rejected.length > 0) throw new Error(`intake refused messages: ${JSON.stringify(result)}`);
      }
      for (let i = 0; i < 3; i++) {
        workers.push(spawnKith(['worker', '--db', db.url, '--bus', NATS_URL, '--stream', stream, '--batch', '50', '--metrics-port', '0']));
      }
      const ports = await Promise.all(workers.map(async (w) => (await w.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1]!));
      if (opts.killOne) {
        // Once the first worker is resolving (it holds pulled, unacknowledged messages), kill it.
        await eventually('the first worker to resolve messages', async () => {
          const m = await request(`http://127.0.0.1:${ports[0]}/metrics`);
          return /^kith_bus_resolved_total\{outcome="accepted"\} [1-9]/m.test(String(m.body)) ? true : undefined;
        });
        await workers[0]!.kill('SIGKILL');
        const stored = (await app.store.read.stats(workspace.id)).messages;
        expect(stored, 'the kill must land before everything is resolved').toBeLessThan(distinct);
      }
      await eventually(
        'every message to be resolved and acknowledged',
        async () => {
          const info = await bus.jsm.streams.info(stream);
          const stats = await app.store.read.stats(workspace.id);
          return info.state.messages === 0 && stats.messages === distinct ? true : undefined;
        },
        60_000,
      );
      // Redeliveries the surviving workers received (the consumer's own figure counts only pending ones).
      let redelivered = 0;
      for (const port of opts.killOne ? ports.slice(1) : ports) {
        const m = String((await request(`http://127.0.0.1:${port}/metrics`)).body).match(/^kith_bus_redelivered_total (\d+)/m);
        redelivered += Number(m?.[1] ?? 0);
      }
      return { snapshot: await snapshot(app.store, workspace.id), redelivered };
    } finally {
      for (const w of workers) await w.kill('SIGKILL');
      intake.close();
      await app.close();
      await dropTestStream(bus);
      await db.drop();
    }
  }
});

interface Snapshot {
  readonly messages: number;
  readonly identifiers: ReadonlyArray<readonly [IdentifierKey, ProfileId | null, boolean]>;
  readonly profiles: ReadonlyArray<{ id: ProfileId; founder: string; traits: unknown; counts: unknown; events: string[] }>;
}

/** The whole graph of a workspace, in a store-independent, order-independent form. */
async function snapshot(store: Store, ws: WorkspaceId): Promise<Snapshot> {
  const keys: IdentifierKey[] = [];
  for (;;) {
    const page = await store.write((tx) => tx.scanIdentifierKeys(ws, keys.at(-1) ?? null, 1000));
    keys.push(...page);
    if (page.length < 1000) break;
  }
  const states = await store.read.loadIdentifiers(ws, keys);
  const identifiers = states.map((s) => [s.key, s.profileId, s.quarantined] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const ids = [...new Set(states.map((s) => s.profileId).filter((id): id is ProfileId => id !== null))].sort();
  const profiles = [];
  for (const id of ids) {
    const p = await store.read.loadProfile(ws, id);
    if (p === undefined) throw new Error(`identifier points at missing profile ${id}`);
    const events: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.read.eventsOf(ws, id, { limit: 500, cursor });
      events.push(...page.events.map((e) => e.messageId));
      cursor = page.next;
    } while (cursor !== null);
    profiles.push({ id, founder: p.founder, traits: p.traits, counts: p.counts, events: events.sort() });
  }
  return { messages: (await store.read.stats(ws)).messages, identifiers, profiles };
}
