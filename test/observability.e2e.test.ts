import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { request } from './harness.ts';

/** Logs say what happened without personal data; /metrics counts what matters. */
describe('observability', () => {
  const lines: string[] = [];
  let app: App;
  let url: string;
  let dir: string;
  let keys: { writeKey: string; readKey: string };
  let close: () => Promise<void>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kith-obs-'));
    app = await createApp({ db: join(dir, 'kith.db') });
    const created = await app.workspaces.create('default');
    if (!created.ok) throw new Error(created.message);
    keys = created.created;
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
        done();
      },
    });
    const server = buildServer(app, { logger: { level: 'info', stream } });
    await server.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
    close = async () => {
      await server.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    };
  });
  afterAll(async () => {
    await close();
  });

  const basic = (k: string) => `Basic ${Buffer.from(`${k}:`).toString('base64')}`;

  it('logs JSON lines with a request id, and no emails, phones, ids or keys', async () => {
    const marker = 'zed.marker.7731@example.com';
    const res = await request(`${url}/v1/batch`, {
      auth: basic(keys.writeKey),
      headers: { 'x-request-id': 'req-from-client-1' },
      body: { batch: [{ type: 'identify', userId: 'user-secret-991', traits: { email: marker, phone: '+14155550177' } }, { type: 'track', userId: 'user-secret-991' }] },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req-from-client-1');
    await request(`${url}/v1/spaces/default/collections/users/profiles/email:${marker}/traits`, { auth: basic(keys.readKey) });
    await request(`${url}/v1/spaces/default/collections/users/profiles/user_id:user-secret-991/explain?to=phone:+14155550177`, { auth: basic(keys.readKey) });
    const all = lines.join('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.some((l) => JSON.parse(l).reqId === 'req-from-client-1')).toBe(true);
    for (const secret of [marker, 'zed.marker', '4155550177', 'user-secret-991', keys.writeKey, keys.readKey]) expect(all).not.toContain(secret);
    expect(all).toContain('email:***');
  });

  it('serves Prometheus metrics: messages by outcome, rejections by reason, merges, latency, transactions', async () => {
    await request(`${url}/v1/batch`, {
      auth: basic(keys.writeKey),
      body: { batch: [{ type: 'track', anonymousId: 'm-anon-1', event: 'A', messageId: 'obs-1' }, { type: 'track', anonymousId: 'm-anon-1', messageId: 'obs-2' }] },
    });
    await request(`${url}/v1/track`, { auth: basic(keys.writeKey), body: { anonymousId: 'm-anon-1', event: 'A', messageId: 'obs-1' } });
    await request(`${url}/v1/identify`, { auth: basic(keys.writeKey), body: { userId: 'm-user-1', anonymousId: 'm-anon-1' } });
    const res = await fetch(`${url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const value = (name: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(name));
      return line === undefined ? Number.NaN : Number(line.split(' ').pop());
    };
    expect(value('kith_messages_accepted_total')).toBeGreaterThanOrEqual(3);
    expect(value('kith_messages_duplicate_total')).toBeGreaterThanOrEqual(1);
    expect(value('kith_messages_rejected_total{reason="missing_field"}')).toBeGreaterThanOrEqual(1);
    expect(text).toContain('kith_profile_merges_total');
    expect(text).toMatch(/kith_http_request_duration_seconds_bucket\{le="[0-9.]+",method="POST",route="\/v1\/batch",status="200"\}/);
    expect(value('kith_store_transaction_seconds_count')).toBeGreaterThanOrEqual(3);
    expect(text).not.toContain('m-anon-1');
  });
});
