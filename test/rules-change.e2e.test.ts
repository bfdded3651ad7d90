import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, startServer, type TestServer } from './harness.ts';

/** Changing the identity rules re-resolves what is already stored, not only what arrives next. */
describe('identity rules change re-resolves the stored evidence', () => {
  let t: TestServer;
  let send: (batch: unknown[]) => Promise<void>;
  let profileOf: (id: string) => Promise<string | undefined>;
  let setRules: (rules: unknown) => Promise<{ status: number; body: any }>;
  beforeAll(async () => {
    t = await startServer();
    send = async (batch) => {
      const res = await request(`${t.url}/v1/batch`, { auth: t.basic(t.keys.writeKey), body: { batch } });
      expect(res.status).toBe(200);
    };
    profileOf = async (id) => {
      const res = await request(`${t.url}/v1/spaces/default/collections/users/profiles/${id}/metadata`, { auth: t.basic(t.keys.readKey) });
      return res.status === 200 ? res.body.metadata.profile_id : undefined;
    };
    setRules = (rules) => request(`${t.url}/v1/spaces/default/settings/identity`, { method: 'PUT', auth: t.basic(t.keys.adminKey), body: rules });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a new blocklist entry splits people that a shared junk value had merged', async () => {
    await send([
      { type: 'identify', messageId: 'bl-1', anonymousId: 'bl-a', traits: { email: 'ann@blk.io', phone: '+14155550199' }, timestamp: '2026-01-01T00:00:00Z' },
      { type: 'identify', messageId: 'bl-2', anonymousId: 'bl-b', traits: { email: 'ben@blk.io', phone: '+14155550199' }, timestamp: '2026-01-02T00:00:00Z' },
    ]);
    expect(await profileOf('email:ann@blk.io')).toBe(await profileOf('email:ben@blk.io'));
    const res = await setRules({ blocklist: ['phone:+14155550199'] });
    expect(res.status).toBe(200);
    expect(res.body.reresolved.messagesRewritten).toBeGreaterThanOrEqual(2);
    expect(await profileOf('email:ann@blk.io')).toBeDefined();
    expect(await profileOf('email:ann@blk.io')).not.toBe(await profileOf('email:ben@blk.io'));
    expect(await profileOf('phone:+14155550199')).toBeUndefined();
  });

  it('a new trait mapping links history that carried the trait', async () => {
    await send([
      { type: 'identify', messageId: 'tm-1', userId: 'tm-user', traits: { memberNo: 'M-777' }, timestamp: '2026-01-01T00:00:00Z' },
      { type: 'track', messageId: 'tm-2', anonymousId: 'tm-pos', event: 'Order Completed', context: { traits: { memberNo: 'M-777' } }, timestamp: '2026-01-02T00:00:00Z' },
    ]);
    expect(await profileOf('anonymous_id:tm-pos')).not.toBe(await profileOf('user_id:tm-user'));
    const res = await setRules({ traitIdentifiers: { memberNo: 'member_id' } });
    expect(res.status).toBe(200);
    expect(await profileOf('member_id:M-777')).toBe(await profileOf('user_id:tm-user'));
    expect(await profileOf('anonymous_id:tm-pos')).toBe(await profileOf('user_id:tm-user'));
  });

  it('a stricter limit splits a profile, and the split is in its history', async () => {
    await send([
      { type: 'identify', messageId: 'lim-1', userId: 'lim-user', traits: { email: 'one@lim.io' }, timestamp: '2026-01-01T00:00:00Z' },
      { type: 'identify', messageId: 'lim-2', userId: 'lim-user', traits: { email: 'two@lim.io' }, timestamp: '2026-01-02T00:00:00Z' },
    ]);
    const before = await profileOf('user_id:lim-user');
    expect(await profileOf('email:two@lim.io')).toBe(before);
    const res = await setRules({ types: { email: { limit: 1 } } });
    expect(res.status).toBe(200);
    expect(await profileOf('email:one@lim.io')).toBe(await profileOf('user_id:lim-user'));
    expect(await profileOf('email:two@lim.io')).not.toBe(await profileOf('user_id:lim-user'));
    const history = await request(`${t.url}/v1/spaces/default/collections/users/profiles/user_id:lim-user/history`, { auth: t.basic(t.keys.readKey) });
    expect(history.body.data.some((h: { kind: string }) => h.kind === 'split')).toBe(true);
    await setRules({ types: { email: { limit: 5 } } });
    expect(await profileOf('email:two@lim.io')).toBe(await profileOf('user_id:lim-user'));
  });
});
