import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, startServer, type TestServer } from './harness.ts';
import { childEnv, runKith } from './kith-process.ts';
import { testModel } from './match-test-model.ts';

/**
 * Probabilistic matching inside the identity graph, end to end through the real HTTP API: records
 * that share no identifier are linked before the ingest call returns, explain shows each
 * attribute's weight, uncertain pairs wait in the review queue, people's decisions stick, and a
 * score never merges two user ids. Each test uses people of its own.
 */
describe('probabilistic links in the identity graph', () => {
  let t: TestServer;
  const PROFILES = '/v1/spaces/default/collections/users/profiles';
  let day = Date.parse('2026-03-01T10:00:00Z');

  beforeAll(async () => {
    t = await startServer();
  });
  afterAll(async () => {
    await t.close();
  });

  const admin = (path: string, opts: { method?: string; body?: unknown } = {}) => request(`${t.url}${path}`, { ...opts, auth: t.basic(t.keys.adminKey) });

  async function identify(body: Record<string, unknown>): Promise<void> {
    day += 60_000;
    const res = await request(`${t.url}/v1/identify`, { body: { timestamp: new Date(day).toISOString(), ...body }, auth: t.basic(t.keys.writeKey) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  async function profileIdOf(id: string): Promise<string> {
    const res = await request(`${t.url}${PROFILES}/${encodeURIComponent(id)}/metadata`, { auth: t.basic(t.keys.readKey) });
    expect(res.status, `metadata of ${id}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body.metadata.profile_id as string;
  }

  async function explainBetween(a: string, b: string): Promise<any> {
    const res = await request(`${t.url}${PROFILES}/${encodeURIComponent(a)}/explain?to=${encodeURIComponent(b)}`, { auth: t.basic(t.keys.readKey) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  async function reviews(status = 'review'): Promise<any[]> {
    const out: any[] = [];
    for (let next: string | null = null; ; ) {
      const res = await admin(`/v1/spaces/default/reviews?limit=2&status=${status}${next === null ? '' : `&next=${next}`}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      out.push(...res.body.data);
      next = res.body.next;
      if (next === null) return out;
    }
  }

  const pairOf = (list: any[], x: string, y: string): any => list.find((p) => (p.a === x && p.b === y) || (p.a === y && p.b === x));

  const margaret = {
    firstName: 'Margaret',
    lastName: 'Hollings',
    birthday: '1984-03-12',
    address: { street: '42 Larch Lane', city: 'Springfield', postalCode: '62704', state: 'IL' },
    phone: '(415) 555-0134',
    email: 'margaret.hollings@example.com',
  };

  it('does nothing without a model, and links once a model is supplied', async () => {
    await identify({ userId: 'u-early', traits: { ...margaret, firstName: 'Eleanor', lastName: 'Vance', email: 'eleanor@example.com', phone: '(415) 555-0171' } });
    await identify({ anonymousId: 'paper-card-1', traits: { name: 'Eleanor Vance', birthday: '03/12/1984', address: { street: '42 Larch Ln', city: 'Springfield', postalCode: '62704', state: 'IL' } } });
    expect(await profileIdOf('anonymous_id:paper-card-1')).not.toBe(await profileIdOf('user_id:u-early'));

    const before = await admin('/v1/spaces/default/settings/matching');
    expect(before.status).toBe(200);
    expect(before.body.configured).toBe(false);
    expect(before.body.matching).toMatchObject({ enabled: true, model: null, autoLink: 0.99, review: 0.5 });

    const bad = await admin('/v1/spaces/default/settings/matching', { method: 'PUT', body: { autoLink: 2 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_matching', field: 'autoLink' });
    const badModel = await admin('/v1/spaces/default/settings/matching', { method: 'PUT', body: { model: { format: 'nope' } } });
    expect(badModel.status).toBe(400);
    expect(badModel.body.error.code).toBe('invalid_model');
    const unknown = await admin('/v1/spaces/default/settings/matching', { method: 'PUT', body: { model: 'm_0123456789abcdef' } });
    expect(unknown.status).toBe(404);

    const tooFew = await admin('/v1/spaces/default/match/train', { method: 'POST' });
    expect(tooFew.status).toBe(409);
    expect(tooFew.body.error).toMatchObject({ code: 'not_enough_data' });
    expect(tooFew.body.error.message).toMatch(/at least 20/);

    const model = testModel();
    const put = await admin('/v1/spaces/default/settings/matching', { method: 'PUT', body: { model } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.matching.model).toBe(model.version);
    expect(put.body.rescored.linked).toBeGreaterThanOrEqual(1);
    expect(await profileIdOf('anonymous_id:paper-card-1')).toBe(await profileIdOf('user_id:u-early'));

    const after = await admin('/v1/spaces/default/settings/matching');
    expect(after.body.models.map((m: { version: string }) => m.version)).toContain(model.version);
  });

  it('links a record sharing no identifier before the ingest call returns, and explains each attribute', async () => {
    await identify({ userId: 'u-margaret', anonymousId: 'cookie-m1', traits: margaret });
    // A warranty card typed by a clerk: name in one field, US date, abbreviated street, phone typo.
    await identify({
      anonymousId: 'warranty-77',
      traits: { name: 'Margaret Hollings', birthday: '03/12/1984', address: { street: '42 Larch Ln', city: 'Springfield', postalCode: '62704', state: 'IL' }, phone: '(415) 555-0135' },
    });
    const online = await profileIdOf('user_id:u-margaret');
    expect(await profileIdOf('anonymous_id:warranty-77')).toBe(online);
    expect(await profileIdOf('anonymous_id:cookie-m1')).toBe(online);

    const why = await explainBetween('anonymous_id:warranty-77', 'user_id:u-margaret');
    expect(why.linked).toBe(true);
    const step = why.path.find((s: any) => s.match !== undefined);
    expect(step.match.kind).toBe('probabilistic');
    expect(step.match.probability).toBeGreaterThanOrEqual(0.99);
    expect(step.match.modelVersion).toMatch(/^m_[0-9a-f]{16}$/);
    const weights = new Map(step.match.attributes.map((a: any) => [a.attribute, a]));
    expect((weights.get('lastName') as any).weight).toBeGreaterThan(0);
    expect((weights.get('birthday') as any).label).toBe('exact');
    expect((weights.get('phone') as any).label).toBe('one edit');
    expect((weights.get('email') as any).level).toBeNull();
    expect(step.rule).toMatch(/probabilistic match/);
  });

  it('queues a mid-score pair for review; accepting links it as manual evidence', async () => {
    await identify({ userId: 'u-nadia', traits: { firstName: 'Nadia', lastName: 'Okonkwo', birthday: '1990-05-20', address: { city: 'Dayton', state: 'OH' } } });
    await identify({ anonymousId: 'crm-nadia', traits: { firstName: 'Nadia', lastName: 'Okonkwo', birthday: '1962-11-02', address: { city: 'Dayton', state: 'OH' } } });
    expect(await profileIdOf('anonymous_id:crm-nadia')).not.toBe(await profileIdOf('user_id:u-nadia'));
    const entry = pairOf(await reviews(), 'user_id:u-nadia', 'anonymous_id:crm-nadia');
    expect(entry, 'a review queue entry for the pair').toBeDefined();
    expect(entry.probability).toBeGreaterThanOrEqual(0.5);
    expect(entry.probability).toBeLessThan(0.99);
    expect(entry.records.a.lastName ?? entry.records.b.lastName).toBe('Okonkwo');
    expect(entry.attributes.length).toBeGreaterThan(0);

    const accepted = await admin(`/v1/spaces/default/reviews/${entry.id}:accept`, { method: 'POST' });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    expect(accepted.body.status).toBe('accepted');
    expect(accepted.body.linked).toBe(true);
    expect(await profileIdOf('anonymous_id:crm-nadia')).toBe(await profileIdOf('user_id:u-nadia'));
    expect(pairOf(await reviews(), 'user_id:u-nadia', 'anonymous_id:crm-nadia')).toBeUndefined();
    const why = await explainBetween('anonymous_id:crm-nadia', 'user_id:u-nadia');
    expect(why.path.some((s: any) => s.match?.kind === 'manual')).toBe(true);

    const again = await admin(`/v1/spaces/default/reviews/${entry.id}:reject`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_decided');
    const missing = await admin('/v1/spaces/default/reviews/mp_00000000000000000000:accept', { method: 'POST' });
    expect(missing.status).toBe(404);
    const wrong = await admin(`/v1/spaces/default/reviews/${entry.id}:maybe`, { method: 'POST' });
    expect(wrong.status).toBe(400);
    const readKey = await request(`${t.url}/v1/spaces/default/reviews`, { auth: t.basic(t.keys.readKey) });
    expect(readKey.status).toBe(403);
  });

  it('keeps a rejected pair apart forever: new data, deterministic evidence, re-scoring', async () => {
    await identify({ userId: 'u-jon', traits: { firstName: 'Jonathan', lastName: 'Pryce', birthday: '1971-08-09', address: { city: 'Tulsa', state: 'OK' } } });
    await identify({ anonymousId: 'crm-jon', traits: { firstName: 'Jonathan', lastName: 'Pryce', birthday: '1955-01-30', address: { city: 'Tulsa', state: 'OK' } } });
    const entry = pairOf(await reviews(), 'user_id:u-jon', 'anonymous_id:crm-jon');
    expect(entry).toBeDefined();
    const rejected = await admin(`/v1/spaces/default/reviews/${entry.id}/reject`, { method: 'POST' });
    expect(rejected.status, JSON.stringify(rejected.body)).toBe(200);
    expect(rejected.body.linked).toBe(false);

    // The CRM record is corrected to the same birthday: the score is now far above auto-link.
    await identify({ anonymousId: 'crm-jon', traits: { birthday: '1971-08-09', address: { street: '9 Elm St', postalCode: '74103' } } });
    expect(await profileIdOf('anonymous_id:crm-jon')).not.toBe(await profileIdOf('user_id:u-jon'));
    // A message carrying both identifiers would join them; the rejection still holds.
    await identify({ userId: 'u-jon', anonymousId: 'crm-jon', traits: {} });
    expect(await profileIdOf('anonymous_id:crm-jon')).not.toBe(await profileIdOf('user_id:u-jon'));
    const run = await admin('/v1/spaces/default/match/run', { method: 'POST' });
    expect(run.status, JSON.stringify(run.body)).toBe(200);
    expect(run.body.rescored.pairsCompared).toBeGreaterThan(0);
    expect(await profileIdOf('anonymous_id:crm-jon')).not.toBe(await profileIdOf('user_id:u-jon'));
    const why = await explainBetween('anonymous_id:crm-jon', 'user_id:u-jon');
    expect(why.linked).toBe(false);
    expect(why.keptApartBy.some((k: any) => /rejected in review/.test(k.rule))).toBe(true);
  });

  it('never merges two user ids by a score', async () => {
    const twin = { firstName: 'Ravi', lastName: 'Chandrasekhar', birthday: '1988-02-14', address: { street: '7 Quay Rd', city: 'Austin', postalCode: '78701', state: 'TX' } };
    await identify({ userId: 'u-ravi-1', traits: twin });
    await identify({ userId: 'u-ravi-2', traits: twin });
    expect(await profileIdOf('user_id:u-ravi-1')).not.toBe(await profileIdOf('user_id:u-ravi-2'));
    const why = await explainBetween('user_id:u-ravi-1', 'user_id:u-ravi-2');
    expect(why.linked).toBe(false);
    expect(why.keptApartBy.some((k: any) => /at most 1 user_id per profile/.test(k.rule))).toBe(true);
    const linked = pairOf(await reviews('linked'), 'user_id:u-ravi-1', 'user_id:u-ravi-2');
    expect(linked?.probability).toBeGreaterThanOrEqual(0.99);
  });

  it('withdraws machine-made links when matching is disabled, and brings them back when enabled', async () => {
    const off = await admin('/v1/spaces/default/settings/matching', { method: 'PUT', body: { enabled: false } });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(await profileIdOf('anonymous_id:warranty-77')).not.toBe(await profileIdOf('user_id:u-margaret'));
    // Decisions people made stand.
    expect(await profileIdOf('anonymous_id:crm-nadia')).toBe(await profileIdOf('user_id:u-nadia'));
    const on = await admin('/v1/spaces/default/settings/matching', { method: 'PUT', body: { enabled: true } });
    expect(on.status).toBe(200);
    expect(await profileIdOf('anonymous_id:warranty-77')).toBe(await profileIdOf('user_id:u-margaret'));
  });

  it('keeps links through a rules change, and deleting the linked identifier retracts its link', async () => {
    const rules = await admin('/v1/spaces/default/settings/identity', { method: 'PUT', body: { blocklist: ['nobody@example.com'] } });
    expect(rules.status, JSON.stringify(rules.body)).toBe(200);
    expect(rules.body.rules.matching.model).toMatch(/^m_/);
    expect(rules.body.rescored.pairsCompared).toBeGreaterThan(0);
    expect(await profileIdOf('anonymous_id:warranty-77')).toBe(await profileIdOf('user_id:u-margaret'));

    // The card's record belongs to its highest-priority identifier, the (mistyped) phone number.
    const del = await admin(`${PROFILES}/user_id:u-margaret/external_ids/${encodeURIComponent('phone:+14155550135')}`, { method: 'DELETE' });
    expect(del.status, JSON.stringify(del.body)).toBe(200);
    expect(await profileIdOf('anonymous_id:warranty-77')).not.toBe(await profileIdOf('user_id:u-margaret'));
    const why = await explainBetween('anonymous_id:warranty-77', 'user_id:u-margaret');
    expect(why.linked).toBe(false);
  });
});

describe('kith match train|run and kith review, on a workspace of its own', () => {
  let t: TestServer;
  let scratch: string;
  beforeAll(async () => {
    t = await startServer();
    scratch = mkdtempSync(join(tmpdir(), 'kith-match-cli-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  const FIRST = ['Anna', 'Bilal', 'Chloe', 'Dmitri', 'Esther', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lena'];
  const LAST = ['Abbott', 'Brennan', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Gallo', 'Horvat', 'Ivanova', 'Jensen', 'Kowalski', 'Lindqvist'];
  const CITIES = ['Leeds', 'York', 'Bath', 'Derby', 'Ely', 'Hull'];

  /** 96 distinct people, 24 of them also on a paper form with one typo: something for EM to learn from. */
  function population(): Array<Record<string, unknown>> {
    const out: Array<Record<string, unknown>> = [];
    let n = 0;
    for (const first of FIRST) {
      for (const last of LAST.slice(0, 8)) {
        n++;
        const city = CITIES[n % CITIES.length]!;
        const person = { firstName: first, lastName: last, birthday: `19${50 + (n % 45)}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + ((n * 7) % 28)).padStart(2, '0')}`, address: { street: `${n} Mill Road`, city, postalCode: `LS${n % 9} ${n % 7}AB` } };
        out.push({ userId: `cli-user-${n}`, traits: person });
        if (n % 4 === 0) {
          const typo = { ...person, lastName: last.slice(0, -1) + (last.endsWith('a') ? 'e' : 'a') };
          out.push({ anonymousId: `cli-form-${n}`, traits: typo });
        }
      }
    }
    return out;
  }

  it('trains a model from the workspace, re-scores it with a summary, and lists and decides the queue', async () => {
    const batch = population().map((m, i) => ({ type: 'identify', timestamp: new Date(Date.parse('2026-02-01T00:00:00Z') + i * 1000).toISOString(), ...m }));
    const sent = await request(`${t.url}/v1/batch`, { body: { batch }, auth: t.basic(t.keys.writeKey) });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const env = childEnv(scratch);

    const none = await runKith(['match', 'run', '--db', t.dbPath], { env });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toMatch(/no model yet/);

    const trained = await runKith(['match', 'train', '--db', t.dbPath, '--seed', '7'], { env, timeoutMs: 60_000 });
    expect(trained.code, trained.stderr).toBe(0);
    expect(trained.stdout).toMatch(/trained model m_[0-9a-f]{16} on 1[0-9]{2} personal records/);
    expect(trained.stdout).toMatch(/pairs compared: \d+ linked, \d+ queued for review/);

    const run = await runKith(['match', 'run', '--db', t.dbPath, '--json'], { env, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout);
    expect(summary.pairsCompared).toBeGreaterThan(0);
    expect(summary.linked).toBeGreaterThan(0);
    // Re-running with nothing new changes nothing.
    expect(summary.merges + summary.splits + summary.withdrawn).toBe(0);

    const formLinked = async (n: number): Promise<boolean> => {
      const meta = async (id: string) => (await request(`${t.url}/v1/spaces/default/collections/users/profiles/${id}/metadata`, { auth: t.basic(t.keys.readKey) })).body.metadata.profile_id;
      return (await meta(`anonymous_id:cli-form-${n}`)) === (await meta(`user_id:cli-user-${n}`));
    };
    let linkedForms = 0;
    for (let n = 4; n <= 96; n += 4) if (await formLinked(n)) linkedForms++;
    expect(linkedForms, 'paper forms joined to their online profiles').toBeGreaterThanOrEqual(18);

    const list = await runKith(['review', 'list', '--db', t.dbPath, '--status', 'linked', '--limit', '3', '--json'], { env });
    expect(list.code, list.stderr).toBe(0);
    const page = JSON.parse(list.stdout);
    expect(page.data.length).toBe(3);
    const victim = page.data[0];
    const rejected = await runKith(['review', 'reject', victim.id, '--db', t.dbPath], { env });
    expect(rejected.code, rejected.stderr).toBe(0);
    expect(rejected.stdout).toMatch(/will never be linked/);
    const after = await runKith(['review', 'list', '--db', t.dbPath, '--status', 'rejected', '--json'], { env });
    expect(JSON.parse(after.stdout).data.map((p: { id: string }) => p.id)).toEqual([victim.id]);
    const bad = await runKith(['review', 'accept', 'mp_nope', '--db', t.dbPath], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no scored pair/);
  }, 120_000);
});
