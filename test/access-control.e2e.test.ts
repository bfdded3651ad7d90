import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startServer, type TestServer } from './harness.ts';
import { pathMatches, routesOf } from './server-routes.ts';

type Role = 'write' | 'read' | 'admin';
type Caller = Role | 'none' | 'wrong' | 'other-write' | 'other-read' | 'other-admin';
const CALLERS: readonly Caller[] = ['write', 'read', 'admin', 'none', 'wrong', 'other-write', 'other-read', 'other-admin'];

interface Route {
  readonly method: string;
  readonly path: string;
  /** The one role allowed; 'public' routes need no key. */
  readonly role: Role | 'public';
  readonly body?: () => unknown;
  /** Tracking routes carry no workspace in the path: a key writes into its own workspace. */
  readonly ownWorkspace?: boolean;
}

/**
 * Every route × every kind of caller: write keys only send data, read keys only read, admin keys
 * only manage, missing or wrong keys get 401, a key of the wrong role or of another workspace 403.
 */
describe('access control: every route for every key role', () => {
  let t: TestServer;
  let other: { writeKey: string; readKey: string; adminKey: string };
  const keyOf = (c: Caller): string | undefined => {
    switch (c) {
      case 'write':
      case 'read':
      case 'admin':
        return t.keys[`${c}Key`];
      case 'other-write':
        return other.writeKey;
      case 'other-read':
        return other.readKey;
      case 'other-admin':
        return other.adminKey;
      case 'wrong':
        return 'kw_not-a-real-key';
      case 'none':
        return undefined;
    }
  };
  let seq = 0;
  let spareKeyId = '';
  const msg = () => ({ userId: `ac-user-${++seq}`, event: 'Access Checked', groupId: 'g1', previousId: `ac-prev-${seq}`, messageId: `ac-${seq}` });
  const profiles = '/v1/spaces/default/collections/users/profiles';

  beforeAll(async () => {
    t = await startServer();
    const created = await t.app.workspaces.create('other');
    if (!created.ok) throw new Error(created.message);
    other = created.created;
    const seed = await request(`${t.url}/v1/batch`, {
      auth: t.basic(t.keys.writeKey),
      body: {
        batch: [
          { type: 'identify', userId: 'ac-target', anonymousId: 'ac-anon', traits: { email: 'ac@example.com' } },
          { type: 'identify', userId: 'ac-erase', traits: { email: 'erase-me@example.com' } },
        ],
      },
    });
    expect(seed.status).toBe(200);
    const ws = (await t.app.workspaces.byName('default'))!;
    const spare = await t.app.workspaces.addKey(ws.id, 'read', 'spare');
    spareKeyId = (await t.app.workspaces.authenticate(spare))!.id;
  });
  afterAll(async () => {
    await t.close();
  });

  const routes = (): Route[] => [
    { method: 'GET', path: '/health', role: 'public' },
    { method: 'GET', path: '/metrics', role: 'public' },
    ...['identify', 'track', 'page', 'screen', 'group', 'alias'].map((type): Route => ({ method: 'POST', path: `/v1/${type}`, role: 'write', body: msg, ownWorkspace: true })),
    { method: 'POST', path: '/v1/batch', role: 'write', body: () => ({ batch: [{ type: 'track', ...msg() }] }), ownWorkspace: true },
    { method: 'POST', path: '/v1/import', role: 'write', body: () => ({ batch: [{ type: 'track', ...msg() }] }), ownWorkspace: true },
    ...['traits', 'external_ids', 'events', 'metadata', 'history'].map((p): Route => ({ method: 'GET', path: `${profiles}/user_id:ac-target/${p}`, role: 'read' })),
    { method: 'GET', path: `${profiles}/user_id:ac-target/explain?to=email:ac@example.com`, role: 'read' },
    { method: 'GET', path: '/v1/spaces/default/settings/identity', role: 'admin' },
    { method: 'PUT', path: '/v1/spaces/default/settings/identity', role: 'admin', body: () => ({ phoneRegion: 'US' }) },
    { method: 'GET', path: '/v1/spaces/default/rejected', role: 'admin' },
    { method: 'DELETE', path: `${profiles}/user_id:ac-target/external_ids/anonymous_id:ac-anon`, role: 'admin' },
    { method: 'GET', path: '/v1/spaces/default/keys', role: 'admin' },
    { method: 'POST', path: '/v1/spaces/default/keys', role: 'admin', body: () => ({ role: 'read', source: 'ac' }) },
    { method: 'POST', path: `/v1/spaces/default/keys/${spareKeyId}/rotate`, role: 'admin' },
    { method: 'DELETE', path: `/v1/spaces/default/keys/${spareKeyId}`, role: 'admin' },
    { method: 'GET', path: `${profiles}/user_id:ac-target/consent`, role: 'read' },
    { method: 'GET', path: `${profiles}/user_id:ac-target/export`, role: 'admin' },
    { method: 'DELETE', path: `${profiles}/user_id:ac-erase`, role: 'admin' },
    { method: 'POST', path: '/v1/spaces/default/imports?source=ac', role: 'admin', body: () => ({ not: 'multipart' }) },
    { method: 'GET', path: '/v1/spaces/default/profiles:export', role: 'admin' },
    { method: 'GET', path: '/v1/spaces/default/settings/matching', role: 'admin' },
    { method: 'PUT', path: '/v1/spaces/default/settings/matching', role: 'admin', body: () => ({ review: 0.6 }) },
    { method: 'POST', path: '/v1/spaces/default/match/train', role: 'admin' },
    { method: 'POST', path: '/v1/spaces/default/match/run', role: 'admin' },
    { method: 'GET', path: '/v1/spaces/default/match/models/no-such-version', role: 'admin' },
    { method: 'GET', path: '/v1/spaces/default/reviews', role: 'admin' },
    { method: 'GET', path: '/v1/spaces/default/reviews/mp_00000000000000000000', role: 'admin' },
    { method: 'POST', path: '/v1/spaces/default/reviews/mp_00000000000000000000:accept', role: 'admin' },
    { method: 'POST', path: '/v1/spaces/default/reviews/mp_00000000000000000000/reject', role: 'admin' },
  ];

  it('covers every route the server serves', () => {
    const table = routes();
    const missing = routesOf(t.server)
      .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .filter((r) => !table.some((e) => e.method === r.method && pathMatches(r.url, e.path)));
    expect(missing, 'routes without an access-control case').toEqual([]);
  });

  it('allows exactly the route’s role and refuses everyone else', async () => {
    let pairs = 0;
    for (const route of routes()) {
      // Refused callers first, so the allowed call (which may change state) comes last.
      const ordered = [...CALLERS].sort((a, b) => Number(allowed(route, a)) - Number(allowed(route, b)));
      for (const caller of ordered) {
        const key = keyOf(caller);
        const res = await request(`${t.url}${route.path}`, {
          method: route.method,
          ...(key === undefined ? {} : { auth: t.basic(key) }),
          ...(route.body === undefined ? {} : { body: route.body() }),
        });
        pairs++;
        const where = `${route.method} ${route.path} as ${caller} → ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`;
        if (allowed(route, caller)) {
          expect([401, 403], where).not.toContain(res.status);
          expect(res.status, where).toBeLessThan(500);
        } else if (caller === 'none' || caller === 'wrong') {
          expect(res.status, where).toBe(401);
          expect(res.body.error.code, where).toMatch(/key/);
        } else {
          expect(res.status, where).toBe(403);
        }
      }
    }
    expect(pairs).toBe(routes().length * CALLERS.length);
  });

  it('keeps a write key’s data in its own workspace', async () => {
    const res = await request(`${t.url}/v1/identify`, { auth: t.basic(other.writeKey), body: { userId: 'only-in-other', traits: { email: 'iso@example.com' } } });
    expect(res.status).toBe(200);
    const mine = await request(`${t.url}${profiles}/user_id:only-in-other/traits`, { auth: t.basic(t.keys.readKey) });
    expect(mine.status).toBe(404);
    const theirs = await request(`${t.url}/v1/spaces/other/collections/users/profiles/user_id:only-in-other/traits`, { auth: t.basic(other.readKey) });
    expect(theirs.status).toBe(200);
  });

  it('rotated and revoked keys stop working at once; the last admin key cannot be revoked', async () => {
    const admin = t.basic(t.keys.adminKey);
    const made = await request(`${t.url}/v1/spaces/default/keys`, { auth: admin, body: { role: 'write', source: 'pos' } });
    expect(made.status).toBe(201);
    const newKey: string = made.body.key;
    expect((await request(`${t.url}/v1/track`, { auth: t.basic(newKey), body: { userId: 'rot-1', event: 'E' } })).status).toBe(200);
    const rotated = await request(`${t.url}/v1/spaces/default/keys/${made.body.id}/rotate`, { method: 'POST', auth: admin });
    expect(rotated.status).toBe(201);
    expect(rotated.body).toMatchObject({ role: 'write', source: 'pos', replaces: made.body.id });
    expect((await request(`${t.url}/v1/track`, { auth: t.basic(newKey), body: { userId: 'rot-1', event: 'E' } })).status).toBe(401);
    expect((await request(`${t.url}/v1/track`, { auth: t.basic(rotated.body.key), body: { userId: 'rot-1', event: 'E' } })).status).toBe(200);
    const revoked = await request(`${t.url}/v1/spaces/default/keys/${rotated.body.id}`, { method: 'DELETE', auth: admin });
    expect(revoked.status).toBe(200);
    expect((await request(`${t.url}/v1/track`, { auth: t.basic(rotated.body.key), body: { userId: 'rot-1', event: 'E' } })).status).toBe(401);

    const list = await request(`${t.url}/v1/spaces/default/keys`, { auth: admin });
    const admins = list.body.data.filter((k: { role: string; revoked_at: string | null }) => k.role === 'admin' && k.revoked_at === null);
    expect(admins).toHaveLength(1);
    const last = await request(`${t.url}/v1/spaces/default/keys/${admins[0].id}`, { method: 'DELETE', auth: admin });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_admin_key');
    expect(JSON.stringify(list.body)).not.toContain(t.keys.adminKey);
  });
});

function allowed(route: Route, caller: Caller): boolean {
  if (route.role === 'public') return true;
  if (caller === route.role) return true;
  return route.ownWorkspace === true && caller === `other-${route.role}`;
}
