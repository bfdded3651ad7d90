import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startServer, type TestServer } from './harness.ts';

/**
 * Segment's Profile API as a client sees it, against a real kith server: response shapes, paging,
 * lookups by any identifier or profile id (also ids merged away or split), kith's /explain and
 * /history extensions, identifier deletion, workspace isolation, identity rules and quarantine.
 * Every test uses its own ids, so the tests do not depend on one another.
 */
describe('Segment Profile API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    await t.close();
  });

  const HOUR = 3_600_000;
  const PROFILES = '/v1/spaces/default/collections/users/profiles';

  function iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  async function send(path: string, body: unknown): Promise<void> {
    const res = await request(`${t.url}${path}`, { body, auth: t.basic(t.keys.writeKey) });
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(200);
    expect(res.body.success).toBe(true);
  }

  /** GET `{PROFILES}/{id}/{resource}` in the `default` workspace, read key unless told otherwise. */
  function profile(id: string, resource: string, key: string = t.keys.readKey) {
    return request(`${t.url}${PROFILES}/${encodeURIComponent(id)}/${resource}`, { auth: t.basic(key) });
  }

  async function profileIdOf(id: string): Promise<string> {
    const res = await profile(id, 'metadata');
    expect(res.status, `metadata of ${id}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body.metadata.profile_id as string;
  }

  async function externalIdsOf(id: string): Promise<string[]> {
    const res = await profile(id, 'external_ids?limit=100');
    expect(res.status, `external_ids of ${id}: ${JSON.stringify(res.body)}`).toBe(200);
    return (res.body.data as Array<{ type: string; id: string }>).map((d) => `${d.type}:${d.id}`).sort();
  }

  function expectJsonError(res: { status: number; body: any }, status: number, code?: string): void {
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body.error).toEqual(expect.objectContaining({ code: expect.any(String), message: expect.any(String) }));
    expect(res.body.error.message).not.toBe('');
    if (code !== undefined) expect(res.body.error.code).toBe(code);
  }

  function expectCursor(cursor: unknown, limit: number): void {
    expect(cursor).toEqual({ url: expect.any(String), has_more: expect.any(Boolean), next: expect.any(String), limit });
  }

  describe('response shapes', () => {
    it('serves /traits, /external_ids, /events and /metadata in Segment shapes', async () => {
      const start = Date.now() - 2 * HOUR;
      await send('/v1/identify', {
        userId: 'shape-1',
        anonymousId: 'shape-anon-1',
        traits: { email: 'shape-1@example.com', name: 'Shape One', plan: 'pro' },
        timestamp: iso(start),
        messageId: 'shape-1-identify',
      });
      await send('/v1/track', {
        userId: 'shape-1',
        event: 'Order Completed',
        properties: { total: 12.5 },
        timestamp: iso(start + HOUR),
        messageId: 'shape-1-track',
      });
      await send('/v1/page', { anonymousId: 'shape-anon-1', name: 'Checkout', timestamp: iso(start + 2 * HOUR - 60_000), messageId: 'shape-1-page' });

      const traits = await profile('user_id:shape-1', 'traits');
      expect(traits.status).toBe(200);
      expect(Object.keys(traits.body).sort()).toEqual(['cursor', 'traits']);
      expect(traits.body.traits).toEqual({ email: 'shape-1@example.com', name: 'Shape One', plan: 'pro' });
      expectCursor(traits.body.cursor, 10);
      expect(traits.body.cursor.has_more).toBe(false);
      expect(traits.body.cursor.url).toContain('/traits');

      const ext = await profile('user_id:shape-1', 'external_ids');
      expect(ext.status).toBe(200);
      expect(Object.keys(ext.body).sort()).toEqual(['cursor', 'data']);
      expectCursor(ext.body.cursor, 25);
      expect(ext.body.data).toHaveLength(3);
      for (const item of ext.body.data) {
        expect(Object.keys(item).sort()).toEqual(['collection', 'created_at', 'encoding', 'id', 'source_id', 'type']);
        expect(item).toMatchObject({ collection: 'users', encoding: 'none', source_id: expect.any(String) });
        expect(Number.isNaN(Date.parse(item.created_at))).toBe(false);
      }
      expect(ext.body.data.map((d: { type: string; id: string }) => `${d.type}:${d.id}`).sort()).toEqual([
        'anonymous_id:shape-anon-1',
        'email:shape-1@example.com',
        'user_id:shape-1',
      ]);
      expect(ext.body.data.find((d: { type: string }) => d.type === 'user_id').created_at).toBe(iso(start));

      const events = await profile('user_id:shape-1', 'events');
      expect(events.status).toBe(200);
      expect(Object.keys(events.body).sort()).toEqual(['cursor', 'data']);
      expectCursor(events.body.cursor, 10);
      expect(events.body.data.map((e: { message_id: string }) => e.message_id)).toEqual(['shape-1-page', 'shape-1-track', 'shape-1-identify']);
      const track = events.body.data[1];
      expect(track).toMatchObject({ message_id: 'shape-1-track', type: 'track', event: 'Order Completed', properties: { total: 12.5 }, timestamp: iso(start + HOUR) });
      expect(events.body.data[0]).toMatchObject({ type: 'page', name: 'Checkout', anonymous_id: 'shape-anon-1' });

      const meta = await profile('user_id:shape-1', 'metadata');
      expect(meta.status).toBe(200);
      expect(meta.body.metadata).toMatchObject({ profile_id: expect.stringMatching(/^prf_/), created_at: iso(start) });
      expect(await profileIdOf('email:shape-1@example.com')).toBe(meta.body.metadata.profile_id);
      expect(await profileIdOf('anonymous_id:shape-anon-1')).toBe(meta.body.metadata.profile_id);
    });

    it('lists external ids oldest first, each with when and where it was first seen, whatever the arrival order', async () => {
      const start = Date.now() - 5 * HOUR;
      await send('/v1/track', { userId: 'seen-1', anonymousId: 'seen-anon-1', event: 'Logged In', timestamp: iso(start + 2 * HOUR), messageId: 'seen-1-login' });
      // Arrives later but happened earlier: now the anonymous id's and the email's first evidence.
      await send('/v1/identify', { anonymousId: 'seen-anon-1', traits: { email: 'seen-1@example.com' }, timestamp: iso(start), messageId: 'seen-1-identify' });
      await send('/v1/page', { anonymousId: 'seen-anon-1', name: 'Home', timestamp: iso(start + HOUR), messageId: 'seen-1-page' });
      const ext = await profile('user_id:seen-1', 'external_ids');
      expect(ext.status).toBe(200);
      expect(ext.body.data.map((d: { type: string; id: string; created_at: string; source_id: string }) => [`${d.type}:${d.id}`, d.created_at, d.source_id])).toEqual([
        ['anonymous_id:seen-anon-1', iso(start), 'default'],
        ['email:seen-1@example.com', iso(start), 'default'],
        ['user_id:seen-1', iso(start + 2 * HOUR), 'default'],
      ]);
    });
  });

  describe('paging', () => {
    it('pages through all 25 events of a profile with limit and next: each exactly once, newest first', async () => {
      const base = Date.parse('2024-02-01T00:00:00.000Z');
      // Groups of three share a timestamp, so page boundaries fall inside ties.
      const batch = Array.from({ length: 25 }, (_, i) => ({
        type: 'track',
        userId: 'page-25',
        event: `Step ${i}`,
        messageId: `page-25-${String(i).padStart(2, '0')}`,
        timestamp: iso(base + Math.floor(i / 3) * 60_000),
      }));
      // Arrival order unrelated to event time.
      const shuffled = [...batch.filter((_, i) => i % 2 === 1), ...batch.filter((_, i) => i % 2 === 0).reverse()];
      await send('/v1/batch', { batch: shuffled.slice(0, 12) });
      await send('/v1/batch', { batch: shuffled.slice(12) });

      const seen: Array<{ message_id: string; timestamp: string }> = [];
      let next = '';
      let pages = 0;
      for (;;) {
        const query = `events?limit=7${next === '' ? '' : `&next=${encodeURIComponent(next)}`}`;
        const res = await profile('user_id:page-25', query);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expectCursor(res.body.cursor, 7);
        seen.push(...res.body.data);
        pages++;
        expect(pages).toBeLessThanOrEqual(4);
        if (!res.body.cursor.has_more) {
          expect(res.body.cursor.next).toBe('');
          break;
        }
        expect(res.body.data).toHaveLength(7);
        next = res.body.cursor.next;
      }
      expect(pages).toBe(4);
      const ids = seen.map((e) => e.message_id);
      expect(ids).toHaveLength(25);
      expect(new Set(ids).size).toBe(25);
      expect([...ids].sort()).toEqual(batch.map((m) => m.messageId).sort());
      const times = seen.map((e) => Date.parse(e.timestamp));
      for (let i = 1; i < times.length; i++) expect(times[i]!, `event ${i}`).toBeLessThanOrEqual(times[i - 1]!);
      expect(ids[0]).toBe('page-25-24');
      expect(ids[24]).toMatch(/^page-25-0[012]$/);
    });

    it('pages through traits and external ids too', async () => {
      const traits: Record<string, number> = {};
      for (let i = 0; i < 12; i++) traits[`t${String(i).padStart(2, '0')}`] = i;
      await send('/v1/identify', { userId: 'page-traits', traits, messageId: 'page-traits-1' });
      const got: Record<string, unknown> = {};
      let next = '';
      for (let pages = 0; pages < 5; pages++) {
        const res = await profile('user_id:page-traits', `traits?limit=5${next === '' ? '' : `&next=${encodeURIComponent(next)}`}`);
        expect(res.status).toBe(200);
        for (const [k, v] of Object.entries(res.body.traits as Record<string, unknown>)) {
          expect(got, `trait ${k} twice`).not.toHaveProperty(k);
          got[k] = v;
        }
        if (!res.body.cursor.has_more) break;
        next = res.body.cursor.next;
      }
      expect(got).toEqual(traits);

      const anon = Array.from({ length: 5 }, (_, i) => `page-ext-anon-${i}`);
      for (const [i, a] of anon.entries()) await send('/v1/identify', { userId: 'page-ext', anonymousId: a, messageId: `page-ext-${i}` });
      const ids: string[] = [];
      next = '';
      for (let pages = 0; pages < 5; pages++) {
        const res = await profile('user_id:page-ext', `external_ids?limit=2${next === '' ? '' : `&next=${encodeURIComponent(next)}`}`);
        expect(res.status).toBe(200);
        ids.push(...res.body.data.map((d: { type: string; id: string }) => `${d.type}:${d.id}`));
        if (!res.body.cursor.has_more) break;
        next = res.body.cursor.next;
      }
      expect(ids.sort()).toEqual([...anon.map((a) => `anonymous_id:${a}`), 'user_id:page-ext'].sort());
    });

    it('a limit out of range is 400', async () => {
      await send('/v1/track', { userId: 'limit-1', event: 'Seen', messageId: 'limit-1-a' });
      for (const resource of ['events?limit=0', 'events?limit=101', 'events?limit=abc', 'events?limit=2.5', 'traits?limit=201', 'external_ids?limit=101', 'external_ids?limit=-1']) {
        const res = await profile('user_id:limit-1', resource);
        expectJsonError(res, 400);
        expect(res.body.error.message, resource).toMatch(/limit/);
      }
      expect((await profile('user_id:limit-1', 'events?limit=100')).status).toBe(200);
    });
  });

  describe('lookups', () => {
    it('an unknown identifier or profile id is 404 with {error: {code, message}}', async () => {
      for (const id of ['email:nobody-ever@example.com', 'user_id:no-such-user', 'loyalty_id:L-0', 'profile_id:prf_AAAAAAAAAAAAAAAAAAAAAA']) {
        for (const resource of ['traits', 'external_ids', 'events', 'metadata']) {
          expectJsonError(await profile(id, resource), 404);
        }
      }
    });

    it('normalises identifier values in lookups (email case, phone format in the default region US)', async () => {
      await send('/v1/identify', { userId: 'norm-1', traits: { email: ' Jane.Norm@Example.com ', phone: '+1 415 555 0134' }, messageId: 'norm-1-a' });
      const id = await profileIdOf('user_id:norm-1');
      expect(await profileIdOf('email:JANE.NORM@EXAMPLE.COM')).toBe(id);
      expect(await profileIdOf('email:jane.norm@example.com')).toBe(id);
      expect(await profileIdOf('phone:(415) 555-0134')).toBe(id);
      expect(await profileIdOf('phone:415.555.0134')).toBe(id);
      expect(await profileIdOf('phone:+14155550134')).toBe(id);
      expect(await externalIdsOf('user_id:norm-1')).toEqual(['email:jane.norm@example.com', 'phone:+14155550134', 'user_id:norm-1']);
    });

    it('profile_id:<id> resolves, also for an id merged away; the merge keeps the older id and shows in /history', async () => {
      const now = Date.now();
      // Two anonymous visitors: the older one first seen 3 h ago, the younger 2 h ago.
      await send('/v1/track', { anonymousId: 'merge-old-anon', event: 'Visited', timestamp: iso(now - 3 * HOUR), messageId: 'merge-old-1' });
      await send('/v1/track', { anonymousId: 'merge-young-anon', event: 'Visited', timestamp: iso(now - 2 * HOUR), messageId: 'merge-young-1' });
      const older = await profileIdOf('anonymous_id:merge-old-anon');
      const younger = await profileIdOf('anonymous_id:merge-young-anon');
      expect(older).not.toBe(younger);
      expect(await profileIdOf(`profile_id:${older}`)).toBe(older);
      expect(await profileIdOf(`profile_id:${younger}`)).toBe(younger);

      // She logs in on the younger visitor's browser first, then on the older one's.
      await send('/v1/identify', { userId: 'merge-user', anonymousId: 'merge-young-anon', traits: { name: 'Mara' }, timestamp: iso(now - HOUR), messageId: 'merge-login-1' });
      expect(await profileIdOf('user_id:merge-user')).toBe(younger);
      const before = Date.now();
      await send('/v1/identify', { userId: 'merge-user', anonymousId: 'merge-old-anon', timestamp: iso(now - HOUR / 2), messageId: 'merge-login-2' });
      const after = Date.now();

      // One profile, keeping the older visitor's id; the younger id still resolves, to it.
      for (const id of ['user_id:merge-user', 'anonymous_id:merge-old-anon', 'anonymous_id:merge-young-anon', `profile_id:${older}`, `profile_id:${younger}`]) {
        expect(await profileIdOf(id), id).toBe(older);
      }
      const viaYounger = await profile(`profile_id:${younger}`, 'traits');
      expect(viaYounger.status).toBe(200);
      expect(viaYounger.body.traits).toEqual({ name: 'Mara' });
      const events = await profile(`profile_id:${younger}`, 'events');
      expect(events.body.data.map((e: { message_id: string }) => e.message_id)).toEqual(['merge-login-2', 'merge-login-1', 'merge-young-1', 'merge-old-1']);

      const history = await profile(`profile_id:${younger}`, 'history');
      expect(history.status, JSON.stringify(history.body)).toBe(200);
      expect(history.body.profile_id).toBe(older);
      const merges = (history.body.data as Array<{ kind: string; at: string; profile_id: string; related: string[] }>).filter(
        (h) => h.kind === 'merge' && h.profile_id === older && h.related.includes(younger),
      );
      expect(merges, JSON.stringify(history.body.data)).toHaveLength(1);
      const at = Date.parse(merges[0]!.at);
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(after + 1000);
      // The survivor's history shows the same merge whichever identifier it is looked up by.
      const viaUser = await profile('user_id:merge-user', 'history');
      expect(viaUser.body.profile_id).toBe(older);
      expect(viaUser.body.data).toContainEqual(merges[0]);
    });
  });

  describe('keeping people apart', () => {
    it('family tablet: two users on one device stay two profiles, and /explain names the user_id rule', async () => {
      const now = Date.now();
      await send('/v1/identify', { userId: 'fam-u-a', traits: { name: 'Ana' }, context: { device: { id: 'fam-tablet-1' } }, timestamp: iso(now - 2 * HOUR), messageId: 'fam-a-1' });
      await send('/v1/identify', { userId: 'fam-u-b', traits: { name: 'Ben' }, context: { device: { id: 'fam-tablet-1' } }, timestamp: iso(now - HOUR), messageId: 'fam-b-1' });
      await send('/v1/track', { userId: 'fam-u-a', event: 'Watched', context: { device: { id: 'fam-tablet-1' } }, timestamp: iso(now - HOUR / 2), messageId: 'fam-a-2' });

      const a = await profileIdOf('user_id:fam-u-a');
      const b = await profileIdOf('user_id:fam-u-b');
      expect(a).not.toBe(b);
      expect((await profile('user_id:fam-u-a', 'traits')).body.traits).toEqual({ name: 'Ana' });
      expect((await profile('user_id:fam-u-b', 'traits')).body.traits).toEqual({ name: 'Ben' });
      expect((await externalIdsOf('user_id:fam-u-a')).filter((k) => k.startsWith('user_id:'))).toEqual(['user_id:fam-u-a']);
      expect((await externalIdsOf('user_id:fam-u-b')).filter((k) => k.startsWith('user_id:'))).toEqual(['user_id:fam-u-b']);

      const why = await profile('user_id:fam-u-a', `explain?to=${encodeURIComponent('user_id:fam-u-b')}`);
      expect(why.status, JSON.stringify(why.body)).toBe(200);
      expect(why.body.linked).toBe(false);
      const rules = JSON.stringify([why.body.reason, ...(why.body.keptApartBy ?? []).map((k: { rule: string }) => k.rule)]);
      expect(rules).toMatch(/user_id/);
      expect(why.body.keptApartBy.length, JSON.stringify(why.body)).toBeGreaterThan(0);
      expect(why.body.keptApartBy.some((k: { rule: string }) => /user_id/.test(k.rule) && /1/.test(k.rule))).toBe(true);
    });

    it('quarantine: one phone seen with 7 different people does not make them one profile', async () => {
      const phone = '(415) 555-0177';
      const start = Date.now() - 10 * HOUR;
      for (let i = 0; i < 7; i++) {
        await send('/v1/identify', {
          anonymousId: `quar-anon-${i}`,
          traits: { email: `quar-${i}@example.com`, phone },
          timestamp: iso(start + i * HOUR),
          messageId: `quar-${i}`,
        });
      }
      const ids = [];
      for (let i = 0; i < 7; i++) ids.push(await profileIdOf(`email:quar-${i}@example.com`));
      expect(new Set(ids).size, JSON.stringify(ids)).toBe(7);
      for (let i = 0; i < 7; i++) {
        expect(await profileIdOf(`anonymous_id:quar-anon-${i}`)).toBe(ids[i]);
        expect(await externalIdsOf(`email:quar-${i}@example.com`)).not.toContain('phone:+14155550177');
      }
      const byPhone = await profile(`phone:${phone}`, 'traits');
      expectJsonError(byPhone, 404, 'quarantined');
      const why = await profile('email:quar-0@example.com', `explain?to=${encodeURIComponent('email:quar-1@example.com')}`);
      expect(why.body.linked).toBe(false);
    });
  });

  describe('deleting an identifier', () => {
    it('splits a profile held together only by that identifier; history records it; the old id still resolves', async () => {
      const now = Date.now();
      await send('/v1/identify', { anonymousId: 'del-anon-1', traits: { email: 'del-shared@example.com', name: 'Kim' }, timestamp: iso(now - 3 * HOUR), messageId: 'del-1' });
      await send('/v1/identify', { anonymousId: 'del-anon-2', traits: { email: 'del-shared@example.com' }, timestamp: iso(now - 2 * HOUR), messageId: 'del-2' });
      await send('/v1/track', { anonymousId: 'del-anon-2', event: 'Bought', timestamp: iso(now - HOUR), messageId: 'del-3' });
      const joined = await profileIdOf('email:del-shared@example.com');
      expect(await profileIdOf('anonymous_id:del-anon-1')).toBe(joined);
      expect(await profileIdOf('anonymous_id:del-anon-2')).toBe(joined);

      const path = `${t.url}${PROFILES}/${encodeURIComponent(`profile_id:${joined}`)}/external_ids/${encodeURIComponent('email:del-shared@example.com')}`;
      // The read key cannot delete, and trying changes nothing.
      expectJsonError(await request(path, { method: 'DELETE', auth: t.basic(t.keys.readKey) }), 403);
      expectJsonError(await request(path, { method: 'DELETE', auth: t.basic(t.keys.writeKey) }), 403);
      expect(await profileIdOf('anonymous_id:del-anon-2')).toBe(joined);

      const before = Date.now();
      const del = await request(path, { method: 'DELETE', auth: t.basic(t.keys.adminKey) });
      const after = Date.now();
      expect(del.status, JSON.stringify(del.body)).toBe(200);

      const one = await profileIdOf('anonymous_id:del-anon-1');
      const two = await profileIdOf('anonymous_id:del-anon-2');
      expect(one).not.toBe(two);
      expect(await externalIdsOf('anonymous_id:del-anon-1')).toEqual(['anonymous_id:del-anon-1']);
      expect(await externalIdsOf('anonymous_id:del-anon-2')).toEqual(['anonymous_id:del-anon-2']);
      expectJsonError(await profile('email:del-shared@example.com', 'traits'), 404);
      // Each part keeps its own events.
      const eventsTwo = await profile('anonymous_id:del-anon-2', 'events');
      expect(eventsTwo.body.data.map((e: { message_id: string }) => e.message_id)).toEqual(['del-3', 'del-2']);

      // The old profile id still resolves: to one of the parts, or a 300 listing the parts.
      const old = await profile(`profile_id:${joined}`, 'metadata');
      if (old.status === 300) {
        expect([...old.body.profiles].sort()).toEqual([one, two].sort());
      } else {
        expect(old.status, JSON.stringify(old.body)).toBe(200);
        expect([one, two]).toContain(old.body.metadata.profile_id);
      }

      const history = await profile(`profile_id:${one}`, 'history');
      const historyOld = await profile(`profile_id:${joined}`, 'history');
      const entries = [...(history.body.data ?? []), ...(historyOld.status === 200 ? historyOld.body.data : [])] as Array<{ kind: string; at: string; related: string[]; profile_id: string }>;
      const splits = entries.filter((h) => h.kind === 'split');
      expect(splits.length, JSON.stringify(entries)).toBeGreaterThan(0);
      const split = splits[0]!;
      expect([split.profile_id, ...split.related].sort()).toEqual(expect.arrayContaining([one, two].sort()));
      const at = Date.parse(split.at);
      expect(at).toBeGreaterThanOrEqual(before - 1000);
      expect(at).toBeLessThanOrEqual(after + 1000);
    });
  });

  describe('workspaces and rules', () => {
    it("another workspace's keys cannot read default's profiles, and its data stays its own", async () => {
      await send('/v1/identify', { userId: 'iso-1', traits: { plan: 'default-plan' }, messageId: 'iso-1-a' });
      const created = await t.app.workspaces.create('other');
      if (!created.ok) throw new Error(created.message);
      const other = created.created;

      expectJsonError(await profile('user_id:iso-1', 'traits', other.readKey), 403);
      expectJsonError(await profile('user_id:iso-1', 'events', other.readKey), 403);
      expectJsonError(await profile('user_id:iso-1', 'traits', other.adminKey), 403);
      // The same user id sent to the other workspace is a different person there.
      const sent = await request(`${t.url}/v1/identify`, { body: { userId: 'iso-1', traits: { plan: 'other-plan' }, messageId: 'iso-1-a' }, auth: t.basic(other.writeKey) });
      expect(sent.status, JSON.stringify(sent.body)).toBe(200);
      expect(sent.body).toMatchObject({ accepted: 1, duplicates: 0 });
      const theirs = await request(`${t.url}/v1/spaces/other/collections/users/profiles/user_id:iso-1/traits`, { auth: t.basic(other.readKey) });
      expect(theirs.status).toBe(200);
      expect(theirs.body.traits).toEqual({ plan: 'other-plan' });
      expect((await profile('user_id:iso-1', 'traits')).body.traits).toEqual({ plan: 'default-plan' });
      // Default's read key cannot read the other workspace either.
      expectJsonError(await request(`${t.url}/v1/spaces/other/collections/users/profiles/user_id:iso-1/traits`, { auth: t.basic(t.keys.readKey) }), 403);
    });

    it('reads and writes identity rules with the admin key; invalid rules are 400 naming the field', async () => {
      const url = `${t.url}/v1/spaces/default/settings/identity`;
      const admin = t.basic(t.keys.adminKey);
      const current = await request(url, { auth: admin });
      expect(current.status, JSON.stringify(current.body)).toBe(200);
      expect(current.body.rules.types.user_id).toMatchObject({ limit: 1 });
      expect(current.body.rules.phoneRegion).toBe('US');
      expectJsonError(await request(url, { auth: t.basic(t.keys.readKey) }), 403);
      expectJsonError(await request(url, { method: 'PUT', body: { blocklist: ['x'] }, auth: t.basic(t.keys.readKey) }), 403);
      expectJsonError(await request(url, { method: 'PUT', body: { blocklist: ['x'] }, auth: t.basic(t.keys.writeKey) }), 403);

      const invalid: Array<[unknown, string]> = [
        [{ types: { email: { limit: 0 } } }, 'types.email.limit'],
        [{ types: { user_id: { priority: 'high' } } }, 'types.user_id.priority'],
        [{ phoneRegion: 'XX' }, 'phoneRegion'],
        [{ blocklist: 'nope' }, 'blocklist'],
        [{ quarantine: { maxPeers: -3 } }, 'quarantine.maxPeers'],
        [{ colour: 'blue' }, 'colour'],
      ];
      for (const [body, field] of invalid) {
        const res = await request(url, { method: 'PUT', body, auth: admin });
        expectJsonError(res, 400);
        expect(res.body.error.field, JSON.stringify(body)).toBe(field);
      }
      expect((await request(url, { auth: admin })).body.rules).toEqual(current.body.rules);

      try {
        const put = await request(url, { method: 'PUT', body: { blocklist: ['rules-blocked@example.com'] }, auth: admin });
        expect(put.status, JSON.stringify(put.body)).toBe(200);
        expect(put.body.rules.blocklist).toEqual(['rules-blocked@example.com']);
        expect(put.body.rules.types).toEqual(current.body.rules.types);
        expect((await request(url, { auth: admin })).body.rules.blocklist).toEqual(['rules-blocked@example.com']);

        // The new rule applies to messages received from now on: two people sharing the blocked
        // email are not merged by it.
        await send('/v1/identify', { userId: 'rules-u-1', traits: { email: 'rules-blocked@example.com' }, messageId: 'rules-1' });
        await send('/v1/identify', { anonymousId: 'rules-anon-2', traits: { email: 'rules-blocked@example.com' }, messageId: 'rules-2' });
        expect(await profileIdOf('user_id:rules-u-1')).not.toBe(await profileIdOf('anonymous_id:rules-anon-2'));
        expectJsonError(await profile('email:rules-blocked@example.com', 'traits'), 404);
      } finally {
        const restore = await request(url, { method: 'PUT', body: current.body.rules, auth: admin });
        expect(restore.status, JSON.stringify(restore.body)).toBe(200);
      }
      expect((await request(url, { auth: admin })).body.rules).toEqual(current.body.rules);
    });
  });
});
