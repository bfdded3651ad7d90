import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
import { request } from './harness.ts';
import { createTestDatabase, type TestDatabase } from './postgres-database.ts';
import { dropTestStream, eventually, NATS_URL, spawnKith, startBusServer, testBus, testStreamName, type BusServer, type KithChild } from './bus-harness.ts';
import type { Bus } from '../src/bus/nats-bus.ts';

const PROFILES = '/v1/spaces/default/collections/users/profiles';
const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse('2026-03-01T10:00:00Z');

/**
 * The JetStream intake end to end: an API node built as `kith serve --bus` builds it, `kith worker`
 * child processes, a PostgreSQL database and a stream of the test's own (both removed afterwards).
 */
describe('JetStream intake: kith serve --bus, kith worker, kith status', () => {
  let db: TestDatabase;
  let stream: string;
  let bus: Bus;
  let node: BusServer;
  const children: KithChild[] = [];
  const startWorker = (...extra: string[]): KithChild => {
    const child = spawnKith(['worker', '--db', db.url, '--bus', NATS_URL, '--stream', stream, '--metrics-port', '0', '--ack-wait', '5', ...extra]);
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    db = await createTestDatabase('kith_js');
    stream = testStreamName();
    bus = await testBus(stream);
    // A short wait so the "no worker" case answers quickly; a running worker answers in milliseconds.
    node = await startBusServer({ db: db.url, stream, waitMs: 1500 });
  });
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await node?.close();
    if (bus !== undefined) await dropTestStream(bus);
    await db?.drop();
  });

  const traitsOf = (id: string) => request(`${node.url}${PROFILES}/${encodeURIComponent(id)}/traits`, { auth: node.basic(node.keys.readKey) });

  it('answers 202 when no worker resolves in time; the message is resolved once a worker starts', async () => {
    const sent = await request(`${node.url}/v1/batch`, {
      auth: node.basic(node.keys.writeKey),
      body: {
        batch: [
          { type: 'identify', userId: 'js-early', traits: { email: 'early@example.com', plan: 'free' }, timestamp: iso(T0), messageId: 'js-early-1' },
          { type: 'track', event: 'No identity' },
        ],
      },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    expect(sent.body).toMatchObject({ success: true, queued: 1, accepted: 0, duplicates: 0 });
    expect(sent.body.message).toMatch(/durabl/);
    // The invalid neighbour is reported at once, as without a bus, and kept in the rejected log.
    expect(sent.body.rejected).toEqual([expect.objectContaining({ index: 1, code: 'missing_identity' })]);
    const log = await request(`${node.url}/v1/spaces/default/rejected`, { auth: node.basic(node.keys.adminKey) });
    expect(log.status).toBe(200);
    expect(JSON.stringify(log.body)).toContain('missing_identity');

    expect((await traitsOf('user_id:js-early')).status).toBe(404);
    const status = JSON.parse((await runStatus()).trim());
    expect(status).toMatchObject({ stream, exists: true, messages: 1, workers: [] });

    const worker = startWorker();
    await worker.waitFor(/resolving stream/);
    const traits = await eventually('the queued message to be resolved', async () => {
      const r = await traitsOf('user_id:js-early');
      return r.status === 200 ? r.body : undefined;
    });
    expect(traits.traits).toMatchObject({ email: 'early@example.com', plan: 'free' });
  }, 60_000);

  it('with a worker running, a 200 means the profile already shows the batch (read-your-writes)', async () => {
    const batch = [
      { type: 'page', anonymousId: 'js-anon-1', name: 'Home', timestamp: iso(T0 + 1000), messageId: 'js-1' },
      { type: 'identify', userId: 'js-user-1', anonymousId: 'js-anon-1', traits: { email: 'Ada@Example.com', plan: 'pro' }, timestamp: iso(T0 + 2000), messageId: 'js-2' },
      { type: 'track', anonymousId: 'js-anon-2', event: 'Added to Cart', timestamp: iso(T0 + 3000), messageId: 'js-3' },
      { type: 'track', userId: 'js-user-1', anonymousId: 'js-anon-2', event: 'Order Completed', timestamp: iso(T0 + 4000), messageId: 'js-4' },
      { type: 'track', userId: 'js-user-1', event: 'Order Completed', timestamp: iso(T0 + 4000), messageId: 'js-4' },
    ];
    const sent = await request(`${node.url}/v1/batch`, { auth: node.basic(node.keys.writeKey), body: { batch } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toEqual({ success: true, accepted: 4, duplicates: 1, rejected: [] });

    const traits = await traitsOf('anonymous_id:js-anon-2');
    expect(traits.status).toBe(200);
    expect(traits.body.traits).toMatchObject({ email: 'Ada@Example.com', plan: 'pro' });
    const ids = await request(`${node.url}${PROFILES}/email:ada@example.com/external_ids`, { auth: node.basic(node.keys.readKey) });
    expect(ids.body.data.map((d: { type: string; id: string }) => `${d.type}:${d.id}`).sort()).toEqual(['anonymous_id:js-anon-1', 'anonymous_id:js-anon-2', 'email:ada@example.com', 'user_id:js-user-1']);

    // The same batch again (a client retry): JetStream dedupes on the message id; nothing doubles.
    const again = await request(`${node.url}/v1/batch`, { auth: node.basic(node.keys.writeKey), body: { batch } });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 5 });
    const events = await request(`${node.url}${PROFILES}/user_id:js-user-1/events?limit=100`, { auth: node.basic(node.keys.readKey) });
    expect(events.body.data.map((e: { message_id: string }) => e.message_id).sort()).toEqual(['js-1', 'js-2', 'js-3', 'js-4']);

    // A single-message endpoint takes the same path.
    const one = await request(`${node.url}/v1/identify`, { auth: node.basic(node.keys.writeKey), body: { userId: 'js-user-1', traits: { plan: 'enterprise' }, timestamp: iso(T0 + 5000), messageId: 'js-5' } });
    expect(one.status).toBe(200);
    expect((await traitsOf('email:ada@example.com')).body.traits.plan).toBe('enterprise');
  }, 60_000);

  it('reports lag, workers and throughput in kith status and on every node\'s /metrics', async () => {
    // Workers report every two seconds; wait for a report that includes the messages above.
    const status = await eventually('a heartbeat counting the resolved messages', async () => {
      const s = JSON.parse((await runStatus(['--db', db.url])).trim());
      return s.workers[0]?.resolved >= 6 ? s : undefined;
    });
    expect(status.workers).toHaveLength(1);
    expect(status).toMatchObject({ messages: 0, pending: 0, ackPending: 0 });
    expect(status.database).toEqual([expect.objectContaining({ workspace: 'default', messages: 6 })]);
    const text = await runStatus([], false);
    expect(text).toMatch(/workers: 1 live/);

    const api = await request(`${node.url}/metrics`);
    expect(api.body).toMatch(/^kith_bus_workers 1$/m);
    expect(api.body).toMatch(/^kith_bus_stream_messages 0$/m);
    expect(api.body).toMatch(/^kith_bus_published_total [1-9]/m);
    const worker = children[0]!;
    const port = (await worker.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1];
    const w = await request(`http://127.0.0.1:${port}/metrics`);
    expect(w.status).toBe(200);
    expect(w.body).toMatch(/^kith_bus_resolved_total\{outcome="accepted"\} [1-9]/m);
    expect(w.body).toMatch(/^kith_bus_workers 1$/m);
  }, 60_000);

  it('takes a second worker on the shared consumer, and a worker stops gracefully on SIGTERM', async () => {
    const second = startWorker();
    await second.waitFor(/resolving stream/);
    const batch = Array.from({ length: 200 }, (_, i) => ({ type: 'track', userId: `js-many-${i % 40}`, event: 'Viewed', timestamp: iso(T0 + 10_000 + i), messageId: `js-many-${i}` }));
    const sent = await request(`${node.url}/v1/batch`, { auth: node.basic(node.keys.writeKey), body: { batch } });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body.accepted).toBe(200);
    const stopped = await second.kill('SIGTERM');
    expect(stopped).toEqual({ code: 0, signal: null });
    expect(second.output()).toMatch(/stopped cleanly/);
    const status = JSON.parse((await runStatus()).trim());
    expect(status.workers).toHaveLength(1);
  }, 60_000);

  async function runStatus(extra: string[] = [], json = true): Promise<string> {
    const child = spawnKith(['status', '--bus', NATS_URL, '--stream', stream, ...(json ? ['--json'] : []), ...extra]);
    const { code } = await child.exited;
    expect(code, child.output()).toBe(0);
    return child.output();
  }
});

describe('kith consume: Segment messages from a NATS subject', () => {
  let db: TestDatabase;
  let stream: string;
  let bus: Bus;
  let node: BusServer;
  const children: KithChild[] = [];
  const tag = Math.random().toString(36).slice(2, 8);

  beforeAll(async () => {
    db = await createTestDatabase('kith_consume');
    stream = testStreamName();
    bus = await testBus(stream);
    node = await startBusServer({ db: db.url, stream, waitMs: 1000 });
  });
  afterAll(async () => {
    for (const c of children) await c.kill('SIGKILL');
    await node?.close();
    if (bus !== undefined) {
      const jsm = await jetstreamManager(bus.nc);
      await jsm.streams.delete(`EXT_${tag.toUpperCase()}`).catch(() => undefined);
      await dropTestStream(bus);
    }
    await db?.drop();
  });

  const traitsOf = (id: string) => request(`${node.url}${PROFILES}/${encodeURIComponent(id)}/traits`, { auth: node.basic(node.keys.readKey) });

  it('ingests from a core NATS subject, answers requests, and logs bad messages without stopping', async () => {
    const subject = `test.${tag}.events`;
    const consumer = spawnKith(['consume', '--bus', NATS_URL, '--subject', subject, '--workspace', 'default', '--db', db.url]);
    children.push(consumer);
    await consumer.waitFor(/reading .* \(core NATS/);
    const ask = async (payload: string) => JSON.parse(new TextDecoder().decode((await bus.nc.request(subject, payload, { timeout: 10_000 })).data));

    expect(await ask('{not json')).toMatchObject({ success: false, error: { code: 'invalid_json' } });
    expect(await ask('42')).toMatchObject({ success: false, error: { code: 'invalid_message' } });
    expect(await ask(JSON.stringify({ type: 'track', event: 'x' }))).toMatchObject({ success: false, rejected: [expect.objectContaining({ code: 'missing_identity' })] });
    const one = await ask(JSON.stringify({ type: 'identify', userId: 'nats-user-1', traits: { email: 'nats@example.com' }, timestamp: iso(T0), messageId: 'nats-1' }));
    expect(one).toEqual({ success: true, accepted: 1, duplicates: 0, rejected: [] });
    const batch = await ask(
      JSON.stringify({
        batch: [
          { type: 'track', userId: 'nats-user-1', anonymousId: 'nats-anon', event: 'Opened App', timestamp: iso(T0 + 1000), messageId: 'nats-2' },
          { type: 'bogus', userId: 'x' },
        ],
      }),
    );
    expect(batch).toMatchObject({ success: true, accepted: 1, rejected: [expect.objectContaining({ index: 1 })] });
    // Plain publishes (no reply) work too; the consumer's answer is the profile changing.
    bus.nc.publish(subject, JSON.stringify({ type: 'identify', anonymousId: 'nats-anon', traits: { plan: 'gold' }, timestamp: iso(T0 + 2000), messageId: 'nats-3' }));
    const traits = await eventually('the published message to reach the profile', async () => {
      const r = await traitsOf('email:nats@example.com');
      return r.status === 200 && r.body.traits.plan === 'gold' ? r.body.traits : undefined;
    });
    expect(traits).toMatchObject({ email: 'nats@example.com', plan: 'gold' });

    const log = await request(`${node.url}/v1/spaces/default/rejected?limit=50`, { auth: node.basic(node.keys.adminKey) });
    const codes = (log.body.data as Array<{ code: string; source_id?: string; source?: string }>).map((r) => r.code).sort();
    expect(codes).toEqual(expect.arrayContaining(['invalid_json', 'invalid_message', 'missing_identity']));
    expect(codes.length).toBeGreaterThanOrEqual(4);

    const stopped = await consumer.kill('SIGTERM');
    expect(stopped.code, consumer.output()).toBe(0);
    expect(consumer.output()).toMatch(/stopped cleanly/);
  }, 60_000);

  it('reads a JetStream subject with a durable consumer and acknowledges after the commit', async () => {
    const name = `EXT_${tag.toUpperCase()}`;
    const subject = `ext.${tag}.segment`;
    const jsm = await jetstreamManager(bus.nc);
    await jsm.streams.add({ name, subjects: [`ext.${tag}.>`] });
    const js = jetstream(bus.nc);
    // Published before kith consume starts: the durable consumer reads the stream from its start.
    for (let i = 0; i < 20; i++) {
      await js.publish(subject, JSON.stringify({ type: 'track', userId: `ext-user-${i % 4}`, event: 'Store Visit', timestamp: iso(T0 + i), messageId: `ext-${i}` }));
    }
    await js.publish(subject, 'garbage');
    const consumer = spawnKith(['consume', '--bus', NATS_URL, '--subject', subject, '--workspace', 'default', '--db', db.url, '--source', 'store-events']);
    children.push(consumer);
    await consumer.waitFor(/JetStream stream EXT_/);
    await eventually('every stream entry to be acknowledged', async () => {
      const info = (await jsm.consumers.list(name).next())[0];
      return info !== undefined && info.num_pending === 0 && info.num_ack_pending === 0 ? true : undefined;
    });
    const events = await request(`${node.url}${PROFILES}/user_id:ext-user-1/events?limit=100`, { auth: node.basic(node.keys.readKey) });
    expect(events.status).toBe(200);
    expect(events.body.data).toHaveLength(5);
    expect(events.body.data[0].source_id).toBe('store-events');
    const stopped = await consumer.kill('SIGTERM');
    expect(stopped.code, consumer.output()).toBe(0);
    expect(consumer.output()).toMatch(/21 payloads, 20 accepted, 0 repeats, 1 rejected/);
  }, 60_000);
});
