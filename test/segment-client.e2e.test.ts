import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analytics } from '@segment/analytics-node';
import { request, startServer, type TestServer } from './harness.ts';

/**
 * The official Segment Node client, pointed at kith with its `host` option and otherwise
 * unchanged, sends a customer's journey across channels; the Profile API then shows one person.
 */
describe('official @segment/analytics-node client end to end', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('joins web, app, store and contact-centre activity into one profile', async () => {
    const analytics = new Analytics({ writeKey: t.keys.writeKey, host: t.url, flushAt: 5, maxRetries: 1 });
    const errors: unknown[] = [];
    analytics.on('error', (err) => errors.push(err));

    // Web: anonymous browsing, then login.
    analytics.page({ anonymousId: 'cookie-jane-1', name: 'Home', properties: { path: '/' } });
    analytics.track({ anonymousId: 'cookie-jane-1', event: 'Product Viewed', properties: { sku: 'SKU-1' } });
    analytics.identify({ anonymousId: 'cookie-jane-1', userId: 'user-jane', traits: { email: 'Jane@Example.com', firstName: 'Jane' } });
    // Phone app on her device.
    analytics.screen({ anonymousId: 'app-install-9', name: 'Home', context: { device: { id: 'device-jane-phone', type: 'ios' } } });
    analytics.identify({ userId: 'user-jane', anonymousId: 'app-install-9', context: { device: { id: 'device-jane-phone' } }, traits: { phone: '(415) 555-0134' } });
    // Store purchase with a loyalty card, and the POS identify that tied the card to her email.
    analytics.identify({ anonymousId: 'pos-7', traits: { email: 'jane@example.com' }, context: { externalIds: [{ id: 'L-1234567', type: 'loyalty_id', collection: 'users', encoding: 'none' }] } });
    analytics.track({ anonymousId: 'pos-8', event: 'Order Completed', properties: { order_id: 'o-1', revenue: 42.5 }, context: { externalIds: [{ id: 'L-1234567', type: 'loyalty_id', collection: 'users', encoding: 'none' }] } });
    // Contact centre: known by phone.
    analytics.track({ anonymousId: 'call-5501', event: 'Call Completed', properties: { duration_s: 300 }, context: { traits: { phone: '+1 415 555 0134' } } });
    // Someone else entirely.
    analytics.identify({ userId: 'user-bob', traits: { email: 'bob@example.com' } });
    await analytics.closeAndFlush();
    expect(errors).toEqual([]);

    const base = `${t.url}/v1/spaces/default/collections/users/profiles`;
    const auth = t.basic(t.keys.readKey);
    const ids = await request(`${base}/email:jane@example.com/external_ids?limit=100`, { auth });
    expect(ids.status).toBe(200);
    const keys = ids.body.data.map((d: { type: string; id: string }) => `${d.type}:${d.id}`).sort();
    expect(keys).toEqual(
      [
        'anonymous_id:app-install-9',
        'anonymous_id:call-5501',
        'anonymous_id:cookie-jane-1',
        'anonymous_id:pos-7',
        'anonymous_id:pos-8',
        'device_id:device-jane-phone',
        'email:jane@example.com',
        'loyalty_id:L-1234567',
        'phone:+14155550134',
        'user_id:user-jane',
      ].sort(),
    );
    expect(ids.body.data[0]).toMatchObject({ collection: 'users', encoding: 'none', source_id: 'default' });

    // Every identifier leads to the same profile.
    const viaLoyalty = await request(`${base}/loyalty_id:L-1234567/metadata`, { auth });
    const viaPhone = await request(`${base}/phone:4155550134/metadata`, { auth });
    const viaUser = await request(`${base}/user_id:user-jane/metadata`, { auth });
    expect(viaLoyalty.body.metadata.profile_id).toBe(viaUser.body.metadata.profile_id);
    expect(viaPhone.body.metadata.profile_id).toBe(viaUser.body.metadata.profile_id);
    const bob = await request(`${base}/email:bob@example.com/metadata`, { auth });
    expect(bob.body.metadata.profile_id).not.toBe(viaUser.body.metadata.profile_id);

    const traits = await request(`${base}/user_id:user-jane/traits?limit=50`, { auth });
    expect(traits.body.traits).toMatchObject({ firstName: 'Jane', phone: '(415) 555-0134' });

    const events = await request(`${base}/user_id:user-jane/events?limit=100`, { auth });
    expect(events.status).toBe(200);
    expect(events.body.data).toHaveLength(8);
    const names = events.body.data.map((e: { event?: string; name?: string; type: string }) => e.event ?? e.name ?? e.type);
    expect(names).toEqual(expect.arrayContaining(['Order Completed', 'Call Completed', 'Product Viewed', 'Home']));
    expect(events.body.data[0]).toHaveProperty('message_id');
    expect(events.body.cursor).toMatchObject({ has_more: false });

    const why = await request(`${base}/email:jane@example.com/explain?to=loyalty_id:L-1234567`, { auth });
    expect(why.body.linked).toBe(true);
    expect(why.body.path.length).toBeGreaterThan(0);
    expect(why.body.path[0]).toHaveProperty('messageId');
  });
});
