import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startServer, type TestServer } from './harness.ts';

/**
 * Segment's HTTP Tracking API as a client sees it, against a real kith server: status codes, error
 * bodies, size limits, per-message rejection in batches, deduplication, clock-skew correction, and
 * the identity guarantees an ingest must keep (junk ids never merge people; later events win traits).
 * Every test uses its own ids, so the tests do not depend on one another.
 */
describe('Segment Tracking API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    await t.close();
  });

  const KB = 1024;

  /** POST a JSON body to a tracking path with the write key as the Basic username. */
  function send(path: string, body: unknown, key: string | null = t.keys.writeKey) {
    return request(`${t.url}${path}`, { body, ...(key === null ? {} : { auth: t.basic(key) }) });
  }

  /** GET a Profile API resource of the `default` workspace with the read key. */
  function profile(id: string, resource: string) {
    return request(`${t.url}/v1/spaces/default/collections/users/profiles/${encodeURIComponent(id)}/${resource}`, {
      auth: t.basic(t.keys.readKey),
    });
  }

  async function profileIdOf(id: string): Promise<string> {
    const res = await profile(id, 'metadata');
    expect(res.status, `metadata of ${id}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body.metadata.profile_id as string;
  }

  async function eventsOf(id: string): Promise<Array<Record<string, any>>> {
    const res = await profile(id, 'events?limit=100');
    expect(res.status, `events of ${id}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body.data;
  }

  function expectJsonError(res: { status: number; body: any }, status: number | number[]): void {
    const allowed = Array.isArray(status) ? status : [status];
    expect(allowed, `status ${res.status}, body ${JSON.stringify(res.body)}`).toContain(res.status);
    expect(typeof res.body, `body is JSON: ${String(res.body)}`).toBe('object');
    expect(res.body.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
    expect(res.body.error.code).not.toBe('');
    expect(res.body.error.message).not.toBe('');
  }

  describe('each message type', () => {
    const cases: Array<[string, Record<string, unknown>]> = [
      ['identify', { userId: 'types-user', traits: { name: 'Types User' } }],
      ['track', { userId: 'types-user', event: 'Item Purchased', properties: { revenue: 9.99 } }],
      ['page', { userId: 'types-user', name: 'Pricing', properties: { path: '/pricing' } }],
      ['screen', { userId: 'types-user', name: 'Settings' }],
      ['group', { userId: 'types-user', groupId: 'acme-inc', traits: { name: 'Acme' } }],
      ['alias', { userId: 'types-user', previousId: 'types-anon' }],
    ];

    it.each(cases)('POST /v1/%s accepts a valid message and the event shows on the profile', async (type, fields) => {
      const messageId = `types-${type}-1`;
      const res = await send(`/v1/${type}`, { ...fields, messageId });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ success: true, accepted: 1, duplicates: 0 });

      const events = await eventsOf('user_id:types-user');
      const mine = events.find((e) => e.message_id === messageId);
      expect(mine, `event ${messageId} in ${JSON.stringify(events.map((e) => e.message_id))}`).toBeDefined();
      expect(mine!.type).toBe(type);
    });

    it('alias joins the previous anonymous id to the user', async () => {
      await send('/v1/track', { anonymousId: 'alias-anon-1', event: 'Viewed', messageId: 'alias-pre-1' });
      const res = await send('/v1/alias', { previousId: 'alias-anon-1', userId: 'alias-user-1', messageId: 'alias-1' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(await profileIdOf('anonymous_id:alias-anon-1')).toBe(await profileIdOf('user_id:alias-user-1'));
    });
  });

  describe('authentication', () => {
    it('accepts the write key as the HTTP Basic username', async () => {
      const res = await send('/v1/track', { userId: 'auth-basic', event: 'Signed In', messageId: 'auth-basic-1' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.success).toBe(true);
      expect((await eventsOf('user_id:auth-basic')).map((e) => e.message_id)).toEqual(['auth-basic-1']);
    });

    it('accepts the write key as writeKey in the body, for single messages and batches', async () => {
      const single = await send('/v1/track', { writeKey: t.keys.writeKey, userId: 'auth-body', event: 'Signed In', messageId: 'auth-body-1' }, null);
      expect(single.status, JSON.stringify(single.body)).toBe(200);
      expect(single.body.success).toBe(true);
      const batch = await send(
        '/v1/batch',
        { writeKey: t.keys.writeKey, batch: [{ type: 'track', userId: 'auth-body', event: 'Signed Out', messageId: 'auth-body-2' }] },
        null,
      );
      expect(batch.status, JSON.stringify(batch.body)).toBe(200);
      expect(batch.body).toMatchObject({ success: true, accepted: 1 });
      const ids = (await eventsOf('user_id:auth-body')).map((e) => e.message_id).sort();
      expect(ids).toEqual(['auth-body-1', 'auth-body-2']);
    });

    it('a missing key is 401 with a JSON error, and nothing is stored', async () => {
      const single = await send('/v1/track', { userId: 'auth-missing', event: 'X', messageId: 'auth-missing-1' }, null);
      expectJsonError(single, 401);
      const batch = await send('/v1/batch', { batch: [{ type: 'track', userId: 'auth-missing', event: 'X', messageId: 'auth-missing-2' }] }, null);
      expectJsonError(batch, 401);
      expect((await profile('user_id:auth-missing', 'traits')).status).toBe(404);
    });

    it('a wrong key is 401, whether in the header or the body', async () => {
      const header = await send('/v1/identify', { userId: 'auth-wrong', messageId: 'auth-wrong-1' }, 'wk_not-a-real-key');
      expectJsonError(header, 401);
      const body = await send('/v1/identify', { writeKey: 'wk_not-a-real-key', userId: 'auth-wrong', messageId: 'auth-wrong-2' }, null);
      expectJsonError(body, 401);
      expect((await profile('user_id:auth-wrong', 'traits')).status).toBe(404);
    });

    it('a read key cannot send data: 403', async () => {
      const res = await send('/v1/track', { userId: 'auth-read', event: 'X', messageId: 'auth-read-1' }, t.keys.readKey);
      expectJsonError(res, 403);
      const batch = await send('/v1/batch', { batch: [{ type: 'track', userId: 'auth-read', event: 'X', messageId: 'auth-read-2' }] }, t.keys.readKey);
      expectJsonError(batch, 403);
      expect((await profile('user_id:auth-read', 'traits')).status).toBe(404);
    });
  });

  describe('whole-request problems', () => {
    it('malformed JSON is 400 with a JSON error body', async () => {
      for (const path of ['/v1/track', '/v1/batch']) {
        const res = await request(`${t.url}${path}`, { auth: t.basic(t.keys.writeKey), rawBody: '{"userId": "bad-json", "event": ' });
        expectJsonError(res, 400);
      }
      // navigator.sendBeacon sends text/plain; a broken body there is the same client error.
      const beacon = await request(`${t.url}/v1/track`, {
        auth: t.basic(t.keys.writeKey),
        rawBody: '{not json',
        headers: { 'content-type': 'text/plain' },
      });
      expectJsonError(beacon, 400);
    });

    it('a batch body over 500 KB is 413 with a JSON error, and none of it is stored', async () => {
      const filler = 'x'.repeat(10 * KB);
      const batch = Array.from({ length: 55 }, (_, i) => ({
        type: 'track',
        userId: 'big-batch',
        event: 'Filler',
        messageId: `big-batch-${i}`,
        properties: { filler },
      }));
      const body = JSON.stringify({ batch });
      expect(Buffer.byteLength(body)).toBeGreaterThan(500 * KB);
      const res = await request(`${t.url}/v1/batch`, { auth: t.basic(t.keys.writeKey), rawBody: body });
      expectJsonError(res, 413);
      expect((await profile('user_id:big-batch', 'traits')).status).toBe(404);
    });

    it('the 500 KB batch limit also holds for a gzip body that inflates past it', async () => {
      const batch = Array.from({ length: 60 }, (_, i) => ({
        type: 'track',
        userId: 'big-gzip',
        event: 'Filler',
        messageId: `big-gzip-${i}`,
        properties: { filler: 'y'.repeat(10 * KB) },
      }));
      const compressed = gzipSync(JSON.stringify({ batch }));
      expect(compressed.length).toBeLessThan(100 * KB);
      const res = await request(`${t.url}/v1/batch`, {
        auth: t.basic(t.keys.writeKey),
        rawBody: compressed,
        headers: { 'content-encoding': 'gzip' },
      });
      expectJsonError(res, 413);
      expect((await profile('user_id:big-gzip', 'traits')).status).toBe(404);
    });

    it('a single message over 32 KB is refused with a JSON error naming the limit', async () => {
      const names32k = /32\s?KB|32\s?kB|32768|32,768|32 ?KiB/;
      // Just over the limit, and far over it: both must be refused, each saying what the limit is.
      for (const [size, label] of [
        [33 * KB, 'just-over'],
        [100 * KB, 'far-over'],
      ] as const) {
        const res = await send('/v1/track', {
          userId: `big-msg-${label}`,
          event: 'Too Big',
          messageId: `big-msg-${label}`,
          properties: { blob: 'z'.repeat(size) },
        });
        expectJsonError(res, [400, 413]);
        expect(res.body.error.message, `${label}: ${res.body.error.message}`).toMatch(names32k);
        expect((await profile(`user_id:big-msg-${label}`, 'traits')).status).toBe(404);
      }
    });

    it('a message over 32 KB inside a batch is rejected by name while its neighbours are accepted', async () => {
      const res = await send('/v1/batch', {
        batch: [
          { type: 'track', userId: 'big-in-batch', event: 'Small', messageId: 'big-in-batch-ok' },
          { type: 'track', userId: 'big-in-batch', event: 'Large', messageId: 'big-in-batch-large', properties: { blob: 'z'.repeat(40 * KB) } },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ success: true, accepted: 1 });
      expect(res.body.rejected).toHaveLength(1);
      expect(res.body.rejected[0]).toMatchObject({ index: 1, messageId: 'big-in-batch-large' });
      expect(res.body.rejected[0].reason).toMatch(/32\s?KB|32768|32,768/);
      expect((await eventsOf('user_id:big-in-batch')).map((e) => e.message_id)).toEqual(['big-in-batch-ok']);
    });
  });

  describe('required fields per type', () => {
    const cases: Array<[string, string, Record<string, unknown>, string]> = [
      ['track without event', '/v1/track', { userId: 'req-1', messageId: 'req-track' }, 'event'],
      ['track with a blank event', '/v1/track', { userId: 'req-1', event: '  ', messageId: 'req-track-blank' }, 'event'],
      ['group without groupId', '/v1/group', { userId: 'req-1', messageId: 'req-group' }, 'groupId'],
      ['alias without previousId', '/v1/alias', { userId: 'req-1', messageId: 'req-alias' }, 'previousId'],
      ['identify with neither userId nor anonymousId', '/v1/identify', { traits: { name: 'Nobody' }, messageId: 'req-identify' }, 'userId'],
      ['track with neither userId nor anonymousId', '/v1/track', { event: 'Orphan', messageId: 'req-track-anon' }, 'userId'],
      ['page with userId null and no anonymousId', '/v1/page', { userId: null, name: 'Home', messageId: 'req-page' }, 'userId'],
    ];

    it.each(cases)('%s is 400 naming the field', async (_label, path, body, field) => {
      const res = await send(path, body);
      expectJsonError(res, 400);
      expect(res.body.success).toBe(false);
      expect(res.body.error.field).toBe(field);
      expect(res.body.error.message).toContain(field);
    });

    it('none of the refused messages reached a profile', async () => {
      expect((await profile('user_id:req-1', 'traits')).status).toBe(404);
    });
  });

  describe('batches', () => {
    it('accepts the valid messages of a partly invalid batch, visible at once, and lists each rejected one', async () => {
      const res = await send('/v1/batch', {
        batch: [
          { type: 'identify', userId: 'batch-ok-1', traits: { plan: 'gold', email: 'batch-ok-1@example.com' }, messageId: 'batch-mix-0' },
          { type: 'track', userId: 'batch-ok-1', messageId: 'batch-mix-1' },
          { type: 'track', userId: 'batch-ok-1', event: 'Order Completed', properties: { total: 30 }, messageId: 'batch-mix-2' },
          { type: 'teleport', userId: 'batch-ok-1', messageId: 'batch-mix-3' },
          'not a message',
          { type: 'group', anonymousId: 'batch-ok-anon-2', messageId: 'batch-mix-5' },
          { type: 'page', anonymousId: 'batch-ok-anon-2', name: 'Home', messageId: 'batch-mix-6' },
          { type: 'alias', userId: 'batch-ok-1', messageId: 'batch-mix-7' },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ success: true, accepted: 3, duplicates: 0 });

      const rejected = res.body.rejected as Array<{ index: number; messageId: string | null; reason: string }>;
      expect(rejected.map((r) => r.index)).toEqual([1, 3, 4, 5, 7]);
      expect(rejected.map((r) => r.messageId)).toEqual(['batch-mix-1', 'batch-mix-3', null, 'batch-mix-5', 'batch-mix-7']);
      for (const r of rejected) expect(typeof r.reason === 'string' && r.reason.length > 0, JSON.stringify(r)).toBe(true);
      expect(rejected.find((r) => r.index === 1)!.reason).toContain('event');
      expect(rejected.find((r) => r.index === 5)!.reason).toContain('groupId');
      expect(rejected.find((r) => r.index === 7)!.reason).toContain('previousId');

      // Read-your-writes: the 200 means the profile already shows the accepted messages.
      const traits = await profile('email:batch-ok-1@example.com', 'traits');
      expect(traits.status).toBe(200);
      expect(traits.body.traits).toMatchObject({ plan: 'gold' });
      expect((await eventsOf('user_id:batch-ok-1')).map((e) => e.message_id).sort()).toEqual(['batch-mix-0', 'batch-mix-2']);
      expect((await eventsOf('anonymous_id:batch-ok-anon-2')).map((e) => e.message_id)).toEqual(['batch-mix-6']);
    });

    it('an operator can list the rejected messages with the admin key', async () => {
      const res = await send('/v1/batch', {
        batch: [
          { type: 'track', userId: 'rej-log-1', event: 'Fine', messageId: 'rej-log-ok' },
          { type: 'track', userId: 'rej-log-1', messageId: 'rej-log-no-event' },
          { type: 'group', userId: 'rej-log-1', messageId: 'rej-log-no-group' },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);

      const list = await request(`${t.url}/v1/spaces/default/rejected?limit=1000`, { auth: t.basic(t.keys.adminKey) });
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      const mine = (list.body.data as Array<Record<string, any>>).filter((r) => String(r.message_id).startsWith('rej-log-'));
      expect(mine.map((r) => r.message_id).sort()).toEqual(['rej-log-no-event', 'rej-log-no-group']);
      const noEvent = mine.find((r) => r.message_id === 'rej-log-no-event')!;
      expect(noEvent).toMatchObject({ index: 1, field: 'event' });
      expect(noEvent.reason).toContain('event');
      expect(mine.find((r) => r.message_id === 'rej-log-no-group')).toMatchObject({ index: 2, field: 'groupId' });

      // The list is an operator's tool: a read or write key does not open it.
      expectJsonError(await request(`${t.url}/v1/spaces/default/rejected`, { auth: t.basic(t.keys.readKey) }), 403);
      expectJsonError(await request(`${t.url}/v1/spaces/default/rejected`, { auth: t.basic(t.keys.writeKey) }), 403);
    });

    it('a batch whose every message is invalid is refused with 400 and each one listed', async () => {
      const res = await send('/v1/batch', {
        batch: [
          { type: 'track', userId: 'all-bad', messageId: 'all-bad-1' },
          { type: 'group', userId: 'all-bad', messageId: 'all-bad-2' },
        ],
      });
      expectJsonError(res, 400);
      expect(res.body.rejected.map((r: { index: number; messageId: string }) => [r.index, r.messageId])).toEqual([
        [0, 'all-bad-1'],
        [1, 'all-bad-2'],
      ]);
    });

    it('/v1/import behaves as /v1/batch', async () => {
      const res = await send('/v1/import', {
        batch: [
          { type: 'identify', userId: 'import-1', traits: { tier: 'silver' }, messageId: 'import-a' },
          { type: 'track', userId: 'import-1', messageId: 'import-b' },
          { type: 'track', userId: 'import-1', event: 'Imported', messageId: 'import-c' },
        ],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ success: true, accepted: 2, duplicates: 0 });
      expect(res.body.rejected).toEqual([expect.objectContaining({ index: 1, messageId: 'import-b', reason: expect.stringContaining('event') })]);
      expect((await profile('user_id:import-1', 'traits')).body.traits).toMatchObject({ tier: 'silver' });
      expect((await eventsOf('user_id:import-1')).map((e) => e.message_id).sort()).toEqual(['import-a', 'import-c']);

      expectJsonError(await send('/v1/import', { batch: [{ type: 'track', userId: 'import-1', event: 'X' }] }, null), 401);
      expectJsonError(await request(`${t.url}/v1/import`, { auth: t.basic(t.keys.writeKey), rawBody: '[1,' }), 400);
    });
  });

  describe('deduplication', () => {
    it('a repeated messageId is accepted and changes nothing', async () => {
      const first = await send('/v1/identify', { userId: 'dup-1', traits: { plan: 'free' }, messageId: 'dup-identify' });
      expect(first.body).toMatchObject({ success: true, accepted: 1, duplicates: 0 });
      const track = await send('/v1/track', { userId: 'dup-1', event: 'Paid', messageId: 'dup-track' });
      expect(track.body).toMatchObject({ success: true, accepted: 1, duplicates: 0 });
      const before = await eventsOf('user_id:dup-1');
      expect(before).toHaveLength(2);

      // A retry of the same message, and a different body under a used messageId: both no-ops.
      const retry = await send('/v1/track', { userId: 'dup-1', event: 'Paid', messageId: 'dup-track' });
      expect(retry.status, JSON.stringify(retry.body)).toBe(200);
      expect(retry.body).toMatchObject({ success: true, accepted: 0, duplicates: 1 });
      const changed = await send('/v1/identify', { userId: 'dup-1', traits: { plan: 'enterprise', seats: 50 }, messageId: 'dup-identify' });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body).toMatchObject({ success: true, accepted: 0, duplicates: 1 });
      const inBatch = await send('/v1/batch', { batch: [{ type: 'track', userId: 'dup-1', event: 'Paid', messageId: 'dup-track' }] });
      expect(inBatch.status, JSON.stringify(inBatch.body)).toBe(200);
      expect(inBatch.body).toMatchObject({ success: true, accepted: 0, duplicates: 1 });

      const after = await eventsOf('user_id:dup-1');
      expect(after.map((e) => e.message_id).sort()).toEqual(['dup-identify', 'dup-track']);
      expect((await profile('user_id:dup-1', 'traits')).body.traits).toEqual({ plan: 'free' });
    });

    it('the same messageId twice in one batch is stored once', async () => {
      const msg = { type: 'track', userId: 'dup-2', event: 'Clicked', messageId: 'dup-2-a' };
      const res = await send('/v1/batch', { batch: [msg, { ...msg, event: 'Clicked Again' }] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toMatchObject({ success: true, accepted: 1, duplicates: 1 });
      const events = await eventsOf('user_id:dup-2');
      expect(events).toHaveLength(1);
      expect(events[0]!.event).toBe('Clicked');
    });
  });

  describe('timestamps', () => {
    it('corrects clock skew: timestamp = receivedAt - (sentAt - timestamp)', async () => {
      // The device clock is years off; only the gap between the event and the send (1 h) is trusted.
      const deviceEvent = Date.parse('2019-03-01T10:00:00.000Z');
      const hour = 3_600_000;
      const before = Date.now();
      const res = await send('/v1/track', {
        userId: 'skew-1',
        event: 'Skewed',
        messageId: 'skew-1-a',
        timestamp: new Date(deviceEvent).toISOString(),
        sentAt: new Date(deviceEvent + hour).toISOString(),
      });
      const after = Date.now();
      expect(res.status, JSON.stringify(res.body)).toBe(200);

      const [event] = await eventsOf('user_id:skew-1');
      const receivedAt = Date.parse(event!.received_at);
      const timestamp = Date.parse(event!.timestamp);
      expect(receivedAt).toBeGreaterThanOrEqual(before - 2000);
      expect(receivedAt).toBeLessThanOrEqual(after + 2000);
      expect(timestamp).toBe(receivedAt - hour);
      expect(Math.abs(timestamp - (before - hour))).toBeLessThan(5000);
    });

    it('corrects clock skew with a batch-level sentAt', async () => {
      const deviceEvent = Date.parse('2030-06-15T08:00:00.000Z');
      const minutes30 = 30 * 60_000;
      const before = Date.now();
      const res = await send('/v1/batch', {
        sentAt: new Date(deviceEvent + minutes30).toISOString(),
        batch: [{ type: 'track', userId: 'skew-2', event: 'Skewed', messageId: 'skew-2-a', timestamp: new Date(deviceEvent).toISOString() }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const [event] = await eventsOf('user_id:skew-2');
      expect(Date.parse(event!.timestamp)).toBe(Date.parse(event!.received_at) - minutes30);
      expect(Math.abs(Date.parse(event!.timestamp) - (before - minutes30))).toBeLessThan(5000);
    });
  });

  describe('compression', () => {
    it('accepts a gzip-compressed body on a single endpoint and on /v1/batch', async () => {
      const single = await request(`${t.url}/v1/identify`, {
        auth: t.basic(t.keys.writeKey),
        rawBody: gzipSync(JSON.stringify({ userId: 'gzip-1', traits: { city: 'Lisbon' }, messageId: 'gzip-1-a' })),
        headers: { 'content-encoding': 'gzip' },
      });
      expect(single.status, JSON.stringify(single.body)).toBe(200);
      expect(single.body).toMatchObject({ success: true, accepted: 1 });

      const batch = await request(`${t.url}/v1/batch`, {
        auth: t.basic(t.keys.writeKey),
        rawBody: gzipSync(JSON.stringify({ batch: [{ type: 'track', userId: 'gzip-1', event: 'Zipped', messageId: 'gzip-1-b' }] })),
        headers: { 'content-encoding': 'gzip' },
      });
      expect(batch.status, JSON.stringify(batch.body)).toBe(200);
      expect(batch.body).toMatchObject({ success: true, accepted: 1 });

      expect((await profile('user_id:gzip-1', 'traits')).body.traits).toMatchObject({ city: 'Lisbon' });
      expect((await eventsOf('user_id:gzip-1')).map((e) => e.message_id).sort()).toEqual(['gzip-1-a', 'gzip-1-b']);
    });
  });

  describe('hostile input', () => {
    it('__proto__ and constructor keys in traits do not pollute Object.prototype, and the server keeps working', async () => {
      const payloads = [
        '{"userId":"proto-1","messageId":"proto-1-a","traits":{"name":"Proto","__proto__":{"polluted":"yes"}}}',
        '{"userId":"proto-1","messageId":"proto-1-b","traits":{"nickname":"P","constructor":{"prototype":{"polluted":"yes"}}}}',
        '{"batch":[{"type":"identify","userId":"proto-1","messageId":"proto-1-c","traits":{"__proto__":{"polluted":"yes"},"age":40}}],"context":{"__proto__":{"polluted":"yes"}}}',
      ];
      const paths = ['/v1/identify', '/v1/identify', '/v1/batch'];
      for (const contentType of ['application/json', 'text/plain']) {
        for (const [i, raw] of payloads.entries()) {
          const res = await request(`${t.url}${paths[i]!}`, { auth: t.basic(t.keys.writeKey), rawBody: raw, headers: { 'content-type': contentType } });
          // Refusing the message is acceptable; crashing or polluting is not.
          expect([200, 400], `${contentType} #${i}: ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
          if (res.status === 400) expectJsonError(res, 400);
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
        }
      }

      // The server keeps serving, and whatever was stored carries no polluting key.
      const ok = await send('/v1/identify', { userId: 'proto-1', messageId: 'proto-1-z', traits: { status: 'fine' } });
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      const traits = await profile('user_id:proto-1', 'traits?limit=200');
      expect(traits.status).toBe(200);
      expect(traits.body.traits.status).toBe('fine');
      expect(Object.keys(traits.body.traits)).not.toContain('__proto__');
      expect(Object.keys(traits.body.traits)).not.toContain('constructor');
      expect(JSON.stringify(traits.body)).not.toContain('polluted');
      expect((await request(`${t.url}/health`)).status).toBe(200);
    });

    it('a __proto__ key in one message of a JSON batch does not cost its valid neighbours', async () => {
      // What the official clients send: application/json. One hostile trait key must at most cost
      // its own message; the neighbours are valid and a 400 is never retried by Segment clients.
      const raw =
        '{"batch":[' +
        '{"type":"track","userId":"proto-2","event":"Fine","messageId":"proto-2-a"},' +
        '{"type":"identify","userId":"proto-2","messageId":"proto-2-b","traits":{"plan":"basic","__proto__":{"polluted":"yes"}}},' +
        '{"type":"track","userId":"proto-2","event":"Also Fine","messageId":"proto-2-c"}' +
        ']}';
      const res = await request(`${t.url}/v1/batch`, { auth: t.basic(t.keys.writeKey), rawBody: raw });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.success).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      const ids = (await eventsOf('user_id:proto-2')).map((e) => e.message_id);
      expect(ids).toEqual(expect.arrayContaining(['proto-2-a', 'proto-2-c']));
    });
  });

  describe('identity guarantees at ingest', () => {
    it('junk identifier values never merge two different people', async () => {
      const junkTraits = { email: 'test@test.com', phone: '0000000000' };
      const people = [
        { type: 'identify', userId: 'null', anonymousId: 'junk-anon-a', traits: { ...junkTraits, name: 'A' }, messageId: 'junk-a' },
        { type: 'identify', userId: 'null', anonymousId: 'junk-anon-b', traits: { ...junkTraits, name: 'B' }, messageId: 'junk-b' },
        { type: 'identify', anonymousId: 'anonymous', traits: { email: 'junk-c@example.com', name: 'C' }, messageId: 'junk-c' },
        { type: 'identify', anonymousId: 'anonymous', traits: { email: 'junk-d@example.com', name: 'D' }, messageId: 'junk-d' },
        { type: 'track', userId: 'junk-user-e', anonymousId: 'anonymous', event: 'Seen', context: { traits: junkTraits }, messageId: 'junk-e' },
      ];
      for (const message of people) {
        const res = await send('/v1/batch', { batch: [message] });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.accepted).toBe(1);
      }
      const ids = await Promise.all(
        ['anonymous_id:junk-anon-a', 'anonymous_id:junk-anon-b', 'email:junk-c@example.com', 'email:junk-d@example.com', 'user_id:junk-user-e'].map(profileIdOf),
      );
      expect(new Set(ids).size, JSON.stringify(ids)).toBe(5);
      for (const id of ids) {
        const extIds = await profile(`profile_id:${id}`, 'external_ids?limit=100');
        expect(extIds.body.data).toHaveLength(1);
      }
      // The junk values are not identifiers of anyone.
      for (const junk of ['user_id:null', 'email:test@test.com', 'anonymous_id:anonymous', 'phone:0000000000']) {
        expect((await profile(junk, 'traits')).status, junk).toBe(404);
      }
    });

    it('trait survivorship follows event time: the later timestamp wins whatever the arrival order', async () => {
      const later = await send('/v1/identify', {
        userId: 'surv-1',
        traits: { plan: 'pro', city: 'Berlin' },
        timestamp: '2024-05-02T12:00:00.000Z',
        messageId: 'surv-1-later',
      });
      expect(later.status, JSON.stringify(later.body)).toBe(200);
      const earlier = await send('/v1/identify', {
        userId: 'surv-1',
        traits: { plan: 'free', city: 'Paris', firstName: 'Ana' },
        timestamp: '2024-05-01T12:00:00.000Z',
        messageId: 'surv-1-earlier',
      });
      expect(earlier.status, JSON.stringify(earlier.body)).toBe(200);

      const traits = await profile('user_id:surv-1', 'traits');
      expect(traits.body.traits).toEqual({ plan: 'pro', city: 'Berlin', firstName: 'Ana' });
      // The timeline is in event time too, newest first.
      expect((await eventsOf('user_id:surv-1')).map((e) => e.message_id)).toEqual(['surv-1-later', 'surv-1-earlier']);
    });
  });
});
