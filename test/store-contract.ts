/**
 * The cross-store contract: what identity, profile and API code rely on from any Store. Written
 * once against the ports; each store implementation runs it (see store-contract.*.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdentifierKey } from '../src/identity/identifier.ts';
import { DEFAULT_RULES } from '../src/identity/rules.ts';
import { changeSet } from '../src/store/change-set.ts';
import type { ChangeSet, IdentifierState, NewMessage, ProfileId, ProfileState, Store, WorkspaceId } from '../src/store/ports.ts';
import type { MatchPair, MatchRecord, PairStatus } from '../src/store/match-ports.ts';

export interface StoreFactory {
  /** A fresh, empty store. */
  open(): Promise<Store>;
  /** Removes whatever `open` created. */
  dispose(store: Store): Promise<void>;
}

const WS = 'ws_contract' as WorkspaceId;
const OTHER = 'ws_other' as WorkspaceId;
const key = (s: string): IdentifierKey => s as IdentifierKey;
const pid = (s: string): ProfileId => s as ProfileId;

function identifier(k: string, profile: string | null): IdentifierState {
  return { key: key(k), profileId: profile === null ? null : pid(profile), quarantined: false, peers: {} };
}

function profile(id: string, component: string, founder: string, extra: Partial<ProfileState> = {}): ProfileState {
  return { id: pid(id), componentId: component, founder: key(founder), founderT: 1, founderM: 'm1', founderPos: 0, traits: {}, counts: { user_id: 1 }, firstT: 1, lastT: 5, ...extra };
}

function message(id: string, t: number, keys: string[], extra: Partial<NewMessage> = {}): NewMessage {
  return {
    messageId: id,
    type: 'track',
    event: 'Clicked',
    t,
    receivedAt: t + 1,
    source: 'web',
    keys: keys.map(key),
    primary: keys.length > 0 ? key(keys[0]!) : null,
    body: JSON.stringify({ type: 'track', event: 'Clicked', properties: { n: t } }),
    ...extra,
  };
}

export function describeStoreContract(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.open();
      for (const id of [WS, OTHER]) await store.admin.createWorkspace({ id, name: id, createdAt: 0, rules: DEFAULT_RULES });
    });
    afterEach(async () => {
      await factory.dispose(store);
    });

    const write = (ws: WorkspaceId, c: Partial<ChangeSet>) => store.write((tx) => tx.apply(ws, changeSet(c)));

    it('stores workspaces with their rules, and keys by hash only', async () => {
      const ws = await store.admin.workspaceByName(WS);
      expect(ws?.rules).toEqual(DEFAULT_RULES);
      await store.admin.setRules(WS, { ...DEFAULT_RULES, phoneRegion: 'GB' });
      expect((await store.admin.workspaceById(WS))?.rules.phoneRegion).toBe('GB');
      await store.admin.addKey({ id: 'k1', workspaceId: WS, role: 'write', prefix: 'kw_abc', source: 'web', createdAt: 5, revokedAt: null, hash: 'h1' });
      expect(await store.admin.keyByHash('h1')).toMatchObject({ id: 'k1', role: 'write', workspaceId: WS, source: 'web' });
      expect(await store.admin.keyByHash('nope')).toBeUndefined();
      expect(await store.admin.revokeKey(WS, 'k1', 9)).toBe(true);
      expect((await store.admin.keyByHash('h1'))?.revokedAt).toBe(9);
      expect((await store.admin.listWorkspaces()).map((w) => w.name).sort()).toEqual([OTHER, WS].sort());
    });

    it('applies a change set and loads it back in batches', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('anonymous_id:a1', 'p1'), identifier('email:x@y.io', 'p2')],
        messages: [message('m1', 10, ['user_id:u1', 'anonymous_id:a1']), message('m2', 20, ['email:x@y.io'])],
        profiles: [profile('p1', 'c1', 'anonymous_id:a1', { traits: { plan: { v: 'pro', t: 10, m: 'm1' } } }), profile('p2', 'c2', 'email:x@y.io')],
        components: [{ id: 'c1', maxT: 10, maxM: 'm1' }, { id: 'c2', maxT: 20, maxM: 'm2' }],
      });
      const loaded = await store.write(async (tx) => ({
        existing: await tx.existingMessageIds(WS, ['m1', 'm2', 'm3']),
        identifiers: await tx.loadIdentifiers(WS, [key('user_id:u1'), key('anonymous_id:a1'), key('user_id:none')]),
        profiles: await tx.loadProfiles(WS, [pid('p1'), pid('p2'), pid('p404')]),
        components: await tx.loadComponents(WS, ['c1', 'c2']),
        members: await tx.loadComponentMembers(WS, ['c1']),
        evidence: await tx.loadEvidence(WS, [key('anonymous_id:a1')]),
      }));
      expect([...loaded.existing].sort()).toEqual(['m1', 'm2']);
      expect(loaded.identifiers.map((s) => s.key).sort()).toEqual(['anonymous_id:a1', 'user_id:u1']);
      expect(loaded.identifiers.find((s) => s.key === 'anonymous_id:a1')).toEqual(identifier('anonymous_id:a1', 'p1'));
      expect(loaded.profiles.map((p) => p.id).sort()).toEqual(['p1', 'p2']);
      expect(loaded.profiles.find((p) => p.id === 'p1')?.traits).toEqual({ plan: { v: 'pro', t: 10, m: 'm1' } });
      expect(loaded.components).toHaveLength(2);
      expect(loaded.members.profiles.map((p) => p.id)).toEqual(['p1']);
      expect(loaded.members.identifiers.map((s) => s.key).sort()).toEqual(['anonymous_id:a1', 'user_id:u1']);
      expect(loaded.evidence).toEqual([{ messageId: 'm1', type: 'track', t: 10, source: 'web', keys: ['user_id:u1', 'anonymous_id:a1'], primary: 'user_id:u1', traits: null }]);
    });

    it('keeps workspaces apart', async () => {
      await write(WS, { identifiers: [identifier('user_id:u1', 'p1')], messages: [message('m1', 1, ['user_id:u1'])], profiles: [profile('p1', 'c1', 'user_id:u1')] });
      const other = await store.write(async (tx) => ({
        ids: await tx.existingMessageIds(OTHER, ['m1']),
        identifiers: await tx.loadIdentifiers(OTHER, [key('user_id:u1')]),
        profiles: await tx.loadProfiles(OTHER, [pid('p1')]),
      }));
      expect(other.ids.size).toBe(0);
      expect(other.identifiers).toEqual([]);
      expect(other.profiles).toEqual([]);
      expect(await store.read.findIdentifier(OTHER, key('user_id:u1'))).toBeUndefined();
      // The same message id in another workspace is a different message.
      await write(OTHER, { identifiers: [identifier('user_id:u1', 'q1')], messages: [message('m1', 1, ['user_id:u1'])], profiles: [profile('q1', 'c1', 'user_id:u1')] });
      expect((await store.read.stats(OTHER)).messages).toBe(1);
      expect((await store.read.findIdentifier(WS, key('user_id:u1')))?.profileId).toBe('p1');
    });

    it('answers the profiles of identifiers as of one moment, calling back once that moment is fixed', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('email:x@y.io', 'p1'), { ...identifier('phone:+14155550100', null), quarantined: true }],
        profiles: [profile('p1', 'c1', 'user_id:u1')],
      });
      await write(OTHER, { identifiers: [identifier('user_id:u2', 'q1')], profiles: [profile('q1', 'c1', 'user_id:u2')] });
      const keys = [key('user_id:u1'), key('email:x@y.io'), key('phone:+14155550100'), key('user_id:u2'), key('user_id:none')];
      let calls = 0;
      let moved: Promise<unknown> | undefined;
      const seen = await store.read.identifierProfiles(WS, keys, () => {
        calls++;
        moved = write(WS, { identifiers: [identifier('email:x@y.io', 'p2')], profiles: [profile('p2', 'c2', 'email:x@y.io')] });
      });
      expect(calls).toBe(1);
      // Unknown identifiers (and another workspace's) are absent; a quarantined one has no profile.
      expect(Object.fromEntries(seen)).toEqual({ 'user_id:u1': 'p1', 'email:x@y.io': 'p1', 'phone:+14155550100': null });
      await moved;
      expect((await store.read.identifierProfiles(WS, keys)).get(key('email:x@y.io'))).toBe('p2');
      let empty = 0;
      expect(await store.read.identifierProfiles(WS, [], () => empty++)).toEqual(new Map());
      expect(empty).toBe(1);
    });

    it('reads first evidence from the evidence: the earliest message by event time, then message id', async () => {
      // Written out of canonical order, in two change sets, as a shuffled arrival would.
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('anonymous_id:a1', 'p1'), identifier('email:x@y.io', 'p1')],
        messages: [
          message('m5', 50, ['user_id:u1', 'anonymous_id:a1']),
          message('m9', 30, ['anonymous_id:a1'], { source: 'app' }),
        ],
        profiles: [profile('p1', 'c1', 'user_id:u1')],
      });
      await write(WS, {
        messages: [
          message('m7', 30, ['anonymous_id:a1', 'email:x@y.io'], { source: 'crm' }),
          message('m1', 90, ['user_id:u1']),
          message('m2', 60, ['email:x@y.io'], { source: 'pos' }),
        ],
      });
      await write(OTHER, { identifiers: [identifier('user_id:u1', 'q1')], messages: [message('m0', 1, ['user_id:u1'], { source: 'other' })], profiles: [profile('q1', 'c1', 'user_id:u1')] });
      const first = await store.read.firstEvidence(WS, [key('user_id:u1'), key('anonymous_id:a1'), key('email:x@y.io'), key('user_id:none')]);
      expect(Object.fromEntries([...first].sort(([a], [b]) => (a < b ? -1 : 1)))).toEqual({
        'anonymous_id:a1': { t: 30, messageId: 'm7', source: 'crm' },
        'email:x@y.io': { t: 30, messageId: 'm7', source: 'crm' },
        'user_id:u1': { t: 50, messageId: 'm5', source: 'web' },
      });
      expect(await store.read.firstEvidence(WS, [])).toEqual(new Map());
      expect([...(await store.read.firstEvidence(OTHER, [key('user_id:u1')])).values()]).toEqual([{ t: 1, messageId: 'm0', source: 'other' }]);
    });

    it('repoints merged profiles and components, redirects old ids, and keeps history', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('anonymous_id:a1', 'p2'), identifier('anonymous_id:a2', 'p2')],
        profiles: [profile('p1', 'c1', 'user_id:u1'), profile('p2', 'c2', 'anonymous_id:a1')],
        components: [{ id: 'c1', maxT: 1, maxM: 'm1' }, { id: 'c2', maxT: 2, maxM: 'm2' }],
      });
      await write(WS, {
        profileRepoints: [{ from: pid('p2'), to: pid('p1') }],
        componentRepoints: [{ from: 'c2', to: 'c1' }],
        deletedProfiles: [pid('p2')],
        deletedComponents: ['c2'],
        redirects: [{ from: pid('p2'), to: [pid('p1')] }],
        history: [{ kind: 'merge', profileId: pid('p1'), related: [pid('p2')], at: 100, messageId: 'm3', detail: {} }],
      });
      expect((await store.read.identifiersOf(WS, pid('p1'))).map((s) => s.key).sort()).toEqual(['anonymous_id:a1', 'anonymous_id:a2', 'user_id:u1']);
      expect(await store.read.loadProfile(WS, pid('p2'))).toBeUndefined();
      expect(await store.read.redirectOf(WS, pid('p2'))).toEqual(['p1']);
      const history = await store.read.historyOf(WS, [pid('p2')]);
      expect(history).toMatchObject([{ kind: 'merge', profileId: 'p1', related: ['p2'], at: 100, messageId: 'm3' }]);
      expect(await store.read.historyOf(WS, [pid('p1')])).toHaveLength(1);
      // A profile id that becomes live again loses its redirect.
      await write(WS, { profiles: [profile('p2', 'c1', 'anonymous_id:a2')] });
      expect(await store.read.redirectOf(WS, pid('p2'))).toBeUndefined();
    });

    it('pages through a profile timeline newest first, each event once', async () => {
      const keys = ['user_id:u1', 'anonymous_id:a1'];
      const messages = Array.from({ length: 23 }, (_, i) => message(`m${String(i).padStart(2, '0')}`, 1000 + Math.floor(i / 3), [keys[i % 2]!]));
      await write(WS, { identifiers: keys.map((k) => identifier(k, 'p1')), messages, profiles: [profile('p1', 'c1', 'user_id:u1')] });
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 10; page++) {
        const result: Awaited<ReturnType<Store['read']['eventsOf']>> = await store.read.eventsOf(WS, pid('p1'), { limit: 5, cursor });
        seen.push(...result.events.map((e) => e.messageId));
        cursor = result.next;
        if (cursor === null) break;
      }
      const expected = [...messages].sort((a, b) => b.t - a.t || (a.messageId < b.messageId ? 1 : -1)).map((m) => m.messageId);
      expect(seen).toEqual(expected);
      const first = await store.read.eventsOf(WS, pid('p1'), { limit: 1, cursor: null });
      expect(first.events[0]?.body).toEqual({ type: 'track', event: 'Clicked', properties: { n: 1007 } });
    });

    it('retracts an identifier from every message and moves primaries', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('anonymous_id:a1', 'p1')],
        messages: [message('m1', 1, ['user_id:u1', 'anonymous_id:a1']), message('m2', 2, ['user_id:u1'])],
        profiles: [profile('p1', 'c1', 'user_id:u1')],
      });
      await write(WS, { retractions: [key('user_id:u1')], deletedIdentifiers: [key('user_id:u1')] });
      const evidence = await store.write((tx) => tx.loadEvidence(WS, [key('anonymous_id:a1'), key('user_id:u1')]));
      expect(evidence).toEqual([{ messageId: 'm1', type: 'track', t: 1, source: 'web', keys: ['anonymous_id:a1'], primary: null, traits: null }]);
      await write(WS, { primaries: [{ messageId: 'm1', primary: key('anonymous_id:a1') }] });
      expect((await store.write((tx) => tx.loadEvidence(WS, [key('anonymous_id:a1')])))[0]?.primary).toBe('anonymous_id:a1');
      expect(await store.read.findIdentifier(WS, key('user_id:u1'))).toBeUndefined();
    });

    it('rolls a failed unit of work back whole', async () => {
      await expect(
        store.write(async (tx) => {
          await tx.apply(WS, changeSet({ identifiers: [identifier('user_id:u9', 'p9')], messages: [message('m9', 1, ['user_id:u9'])] }));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.read.findIdentifier(WS, key('user_id:u9'))).toBeUndefined();
      expect((await store.read.stats(WS)).messages).toBe(0);
      // The store still works after a rollback.
      await write(WS, { identifiers: [identifier('user_id:u9', 'p9')], messages: [message('m9', 1, ['user_id:u9'])] });
      expect((await store.read.stats(WS)).messages).toBe(1);
    });

    it('serialises concurrent units of work: none loses another one\'s update, each commits once', async () => {
      // A store may run units of work one after another (SQLite) or in parallel and retry the ones
      // that conflict (PostgreSQL); either way the result is that of some serial order.
      await write(WS, { profiles: [profile('p1', 'c1', 'user_id:u1', { counts: { visits: 0 } })] });
      const units = 5;
      await Promise.all(
        Array.from({ length: units }, (_, i) =>
          store.write(async (tx) => {
            const [p] = await tx.loadProfiles(WS, [pid('p1')]);
            // Give the other units time to read the same state before this one writes.
            await new Promise((r) => setTimeout(r, 5));
            await tx.apply(
              WS,
              changeSet({
                profiles: [{ ...p!, counts: { visits: (p!.counts.visits ?? 0) + 1 } }],
                history: [{ kind: 'merge', profileId: pid('p1'), related: [], at: i, messageId: `unit-${i}`, detail: {} }],
              }),
            );
          }),
        ),
      );
      expect((await store.read.loadProfile(WS, pid('p1')))?.counts).toEqual({ visits: units });
      const history = await store.read.historyOf(WS, [pid('p1')]);
      expect(history.map((h) => h.messageId).sort()).toEqual(Array.from({ length: units }, (_, i) => `unit-${i}`));
    });

    it('keeps rejected messages listable, newest first', async () => {
      const rejected = [1, 2, 3].map((i) => ({ receivedAt: i, index: i, messageId: `r${i}`, code: 'missing_field', reason: `reason ${i}`, field: 'event', body: '{}', source: 'web' }));
      await write(WS, { rejected });
      const page = await store.read.listRejected(WS, { limit: 2, beforeSeq: null });
      expect(page.map((r) => r.messageId)).toEqual(['r3', 'r2']);
      const next = await store.read.listRejected(WS, { limit: 2, beforeSeq: page[1]!.seq });
      expect(next.map((r) => r.messageId)).toEqual(['r1']);
      expect(await store.read.listRejected(OTHER, { limit: 10, beforeSeq: null })).toEqual([]);
    });

    it('stores consent with profiles and reads it from message evidence', async () => {
      const consented = (t: number, prefs: unknown) =>
        message(`c${t}`, t, ['user_id:u1'], { body: JSON.stringify({ type: 'track', event: 'Consent', context: { consent: { categoryPreferences: prefs } } }) });
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1')],
        messages: [consented(1, { Advertising: true, Analytics: false }), consented(2, 'not an object'), message('m3', 3, ['user_id:u1'])],
        profiles: [profile('p1', 'c1', 'user_id:u1', { consent: { Advertising: { v: true, t: 1, m: 'c1' } } })],
      });
      expect((await store.read.loadProfile(WS, pid('p1')))?.consent).toEqual({ Advertising: { v: true, t: 1, m: 'c1' } });
      const evidence = await store.write((tx) => tx.loadEvidence(WS, [key('user_id:u1')]));
      const byId = new Map(evidence.map((e) => [e.messageId, e.consent]));
      expect(byId.get('c1')).toEqual({ Advertising: true, Analytics: false });
      expect(byId.get('c2')).toBeUndefined();
      expect(byId.get('m3')).toBeUndefined();
    });

    it('lists every message carrying some identifiers in full, oldest first', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('device_id:d1', 'p1'), identifier('user_id:u2', 'p2')],
        messages: [message('m2', 20, ['user_id:u2', 'device_id:d1']), message('m1', 10, ['user_id:u1', 'device_id:d1']), message('m3', 30, ['user_id:u2'])],
        profiles: [profile('p1', 'c1', 'user_id:u1'), profile('p2', 'c1', 'user_id:u2')],
      });
      const carried = await store.read.messagesCarrying(WS, [key('user_id:u1'), key('device_id:d1')]);
      expect(carried.map((m) => [m.messageId, m.primary, m.keys])).toEqual([
        ['m1', 'user_id:u1', ['user_id:u1', 'device_id:d1']],
        ['m2', 'user_id:u2', ['user_id:u2', 'device_id:d1']],
      ]);
      expect(carried[0]).toMatchObject({ type: 'track', t: 10, receivedAt: 11, source: 'web', body: { type: 'track', event: 'Clicked', properties: { n: 10 } } });
      expect(await store.read.messagesCarrying(OTHER, [key('user_id:u1')])).toEqual([]);
    });

    it('keeps one suppression salt per workspace and suppressed hashes per workspace', async () => {
      const salts = await store.write(async (tx) => [
        await tx.privacy.suppressionSalt(WS, null),
        await tx.privacy.suppressionSalt(WS, 'salt-a'),
        await tx.privacy.suppressionSalt(WS, 'salt-b'),
        await tx.privacy.suppressionSalt(OTHER, null),
      ]);
      expect(salts).toEqual([null, 'salt-a', 'salt-a', null]);
      await store.write((tx) => tx.privacy.erase(WS, { messageIds: [], rejectedContaining: [], profileIds: [], suppress: ['h1', 'h2'], at: 5 }));
      const hits = await store.write(async (tx) => ({
        ws: await tx.privacy.suppressedHashes(WS, ['h1', 'h3']),
        other: await tx.privacy.suppressedHashes(OTHER, ['h1']),
        none: await tx.privacy.suppressedHashes(WS, []),
      }));
      expect([...hits.ws]).toEqual(['h1']);
      expect(hits.other.size).toBe(0);
      expect(hits.none.size).toBe(0);
    });

    it('erases messages with their evidence and rejected rows, history naming the profiles, and redirects to them', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('anonymous_id:a1', 'p1'), identifier('device_id:d1', 'p2')],
        messages: [message('m1', 1, ['user_id:u1', 'anonymous_id:a1']), message('m2', 2, ['user_id:u1']), message('m3', 3, ['device_id:d1'])],
        profiles: [profile('p1', 'c1', 'user_id:u1'), profile('p2', 'c2', 'device_id:d1')],
        history: [
          { kind: 'merge', profileId: pid('p1'), related: [pid('p0')], at: 1, messageId: 'm1', detail: {} },
          { kind: 'split', profileId: pid('pz'), related: [pid('p1'), pid('p2')], at: 2, messageId: null, detail: {} },
          { kind: 'merge', profileId: pid('p2'), related: [], at: 3, messageId: 'm3', detail: {} },
        ],
        redirects: [
          { from: pid('p0'), to: [pid('p1')] },
          { from: pid('px'), to: [pid('p0')] },
          { from: pid('pz'), to: [pid('p1'), pid('p2')] },
        ],
        rejected: [
          { receivedAt: 1, index: 0, messageId: 'm1', code: 'missing_field', reason: 'r', field: 'event', body: '{"secret":1}', source: 'web' },
          { receivedAt: 2, index: 0, messageId: 'r9', code: 'missing_field', reason: 'r', field: 'event', body: '{}', source: 'web' },
          { receivedAt: 3, index: 1, messageId: null, code: 'missing_field', reason: 'r', field: 'event', body: '{"traits":{"email":"Jane@Example.com"}}', source: 'web' },
          { receivedAt: 4, index: 2, messageId: null, code: 'missing_field', reason: 'r', field: 'event', body: '{"traits":{"email":"jane@example.com.au"}}', source: 'web' },
        ],
      });
      await write(OTHER, { identifiers: [identifier('user_id:u1', 'q1')], messages: [message('m1', 1, ['user_id:u1'])], profiles: [profile('q1', 'c1', 'user_id:u1')] });
      const counts = await store.write(async (tx) => {
        await tx.privacy.suppressionSalt(WS, 'salt');
        return tx.privacy.erase(WS, { messageIds: ['m1', 'm2', 'missing'], rejectedContaining: ['"jane@example.com"'], profileIds: [pid('p1')], suppress: ['h1'], at: 9 });
      });
      expect(counts).toEqual({ messages: 2, rejected: 2, history: 2, redirects: 3, profileIds: ['p0', 'p1', 'px'] });
      expect((await store.read.stats(WS)).messages).toBe(1);
      expect(await store.write((tx) => tx.loadEvidence(WS, [key('user_id:u1'), key('anonymous_id:a1')]))).toEqual([]);
      expect(await store.read.messagesCarrying(WS, [key('device_id:d1')])).toHaveLength(1);
      expect(await store.read.redirectOf(WS, pid('p0'))).toBeUndefined();
      expect(await store.read.redirectOf(WS, pid('px'))).toBeUndefined();
      expect(await store.read.redirectOf(WS, pid('pz'))).toEqual(['p2']);
      expect(await store.read.historyOf(WS, [pid('p1'), pid('p0'), pid('pz')])).toEqual([]);
      expect((await store.read.historyOf(WS, [pid('p2')])).map((h) => h.messageId)).toEqual(['m3']);
      // By message id, and by a value as a whole JSON string in any case (not as a substring).
      expect((await store.read.listRejected(WS, { limit: 10, beforeSeq: null })).map((r) => r.receivedAt)).toEqual([4, 2]);
      // Another workspace's message with the same id is untouched.
      expect((await store.read.stats(OTHER)).messages).toBe(1);
      expect((await store.scrub()).complete).toBe(true);
    });

    it('rewrites message identifiers and drops identifiers no message carries', async () => {
      await write(WS, {
        identifiers: [identifier('user_id:u1', 'p1'), identifier('phone:+14155550100', 'p1')],
        messages: [message('m1', 1, ['user_id:u1', 'phone:+14155550100'])],
        profiles: [profile('p1', 'c1', 'user_id:u1')],
      });
      const scanned = await store.write((tx) => tx.scanMessages(WS, 0, 10));
      expect(scanned.map((r) => r.keys)).toEqual([['user_id:u1', 'phone:+14155550100']]);
      await store.write(async (tx) => {
        await tx.rewriteMessageKeys(WS, [{ seq: scanned[0]!.seq, keys: [key('user_id:u1'), key('member_id:M1')] }]);
        expect(await tx.deleteOrphanIdentifiers(WS)).toBe(1);
      });
      const after = await store.write((tx) => tx.loadEvidence(WS, [key('member_id:M1')]));
      expect(after[0]?.keys).toEqual(['user_id:u1', 'member_id:M1']);
      expect(await store.read.findIdentifier(WS, key('phone:+14155550100'))).toBeUndefined();
      expect((await store.read.findIdentifier(WS, key('member_id:M1')))?.profileId).toBeNull();
      expect(await store.write((tx) => tx.scanIdentifierKeys(WS, null, 10))).toEqual(['member_id:M1', 'user_id:u1']);
    });
    it('keeps match records, a blocking index, scored pairs and models per workspace', async () => {
      const rec = (k: string, t: number, values: Record<string, string | null>): MatchRecord => ({
        key: key(k),
        values: Object.fromEntries(Object.entries(values).map(([a, v]) => [a, { v, t, m: `m${t}` }])),
        firstT: t,
        firstM: `m${t}`,
      });
      const pair = (a: string, b: string, status: PairStatus, id: string): MatchPair => ({
        id, a: key(a), b: key(b), status, weight: 12.5, probability: 0.9998, modelVersion: 'm_0123456789abcdef',
        attributes: [{ attribute: 'lastName', level: 0, label: 'exact', weight: 8.25 }], t: 5, m: 'm5', createdAt: 7, decidedAt: status === 'rejected' ? 8 : null,
      });
      await store.write(async (tx) => {
        await tx.match.saveRecords(WS, [rec('user_id:u1', 1, { lastName: 'Hollings', city: null }), rec('anonymous_id:a1', 2, { lastName: 'Hollings' })]);
        await tx.match.saveRecords(OTHER, [rec('user_id:u1', 1, { lastName: 'Other' })]);
        await tx.match.setBlocks(WS, [
          { key: key('user_id:u1'), blocks: ['0:HLNK', '1:1984'] },
          { key: key('anonymous_id:a1'), blocks: ['0:HLNK'] },
          { key: key('anonymous_id:a2'), blocks: ['1:1984'] },
          { key: key('anonymous_id:a3'), blocks: ['1:1984'] },
        ]);
        // Replacing a key's blocks drops its old ones.
        await tx.match.setBlocks(WS, [{ key: key('anonymous_id:a1'), blocks: ['2:x'] }]);
        expect((await tx.match.candidates(WS, ['0:HLNK'], 10)).sort()).toEqual(['user_id:u1']);
        // A block over the size limit proposes nobody.
        expect((await tx.match.candidates(WS, ['1:1984'], 2)).sort()).toEqual([]);
        expect((await tx.match.candidates(WS, ['1:1984', '2:x'], 3)).sort()).toEqual(['anonymous_id:a1', 'anonymous_id:a2', 'anonymous_id:a3', 'user_id:u1']);
        expect(await tx.match.candidates(OTHER, ['0:HLNK'], 10)).toEqual([]);
        await tx.match.savePairs(WS, [pair('anonymous_id:a1', 'user_id:u1', 'linked', 'mp_1'), pair('anonymous_id:a2', 'user_id:u1', 'review', 'mp_2'), pair('anonymous_id:a3', 'anonymous_id:a4', 'rejected', 'mp_3')]);
        await tx.match.saveModel(WS, { version: 'm_0123456789abcdef', createdAt: 3, model: { format: 'kith.match-model', nested: { z: 1, a: [1, 2] } } });
      });
      const records = await store.read.match.loadRecords(WS, [key('user_id:u1'), key('anonymous_id:a1'), key('email:none')]);
      expect(records.sort((x, y) => (x.key < y.key ? -1 : 1))).toEqual([rec('anonymous_id:a1', 2, { lastName: 'Hollings' }), rec('user_id:u1', 1, { lastName: 'Hollings', city: null })]);
      expect((await store.read.match.loadRecords(OTHER, [key('user_id:u1')]))[0]?.values.lastName?.v).toBe('Other');
      expect((await store.read.match.pairsOf(WS, [key('user_id:u1')])).map((p) => p.id).sort()).toEqual(['mp_1', 'mp_2']);
      expect(await store.read.match.pairById(WS, 'mp_1')).toEqual(pair('anonymous_id:a1', 'user_id:u1', 'linked', 'mp_1'));
      expect(await store.read.match.pairById(OTHER, 'mp_1')).toBeUndefined();
      const page1 = await store.read.match.listPairs(WS, { status: null, afterId: null, limit: 2 });
      const page2 = await store.read.match.listPairs(WS, { status: null, afterId: page1[1]!.id, limit: 2 });
      expect([...page1, ...page2].map((p) => p.id)).toEqual(['mp_1', 'mp_2', 'mp_3']);
      expect((await store.read.match.listPairs(WS, { status: 'review', afterId: null, limit: 10 })).map((p) => p.id)).toEqual(['mp_2']);
      expect(await store.read.match.countPairs(WS)).toEqual({ linked: 1, review: 1, accepted: 0, rejected: 1 });
      expect((await store.read.match.loadModel(WS, 'm_0123456789abcdef'))?.model).toEqual({ format: 'kith.match-model', nested: { z: 1, a: [1, 2] } });
      expect(await store.read.match.loadModel(OTHER, 'm_0123456789abcdef')).toBeUndefined();
      expect((await store.read.match.listModels(WS)).map((m) => m.version)).toEqual(['m_0123456789abcdef']);

      // A rejected pair is violated once both identifiers are in one profile.
      await write(WS, {
        identifiers: [identifier('anonymous_id:a3', 'p3'), identifier('anonymous_id:a4', 'p3'), identifier('anonymous_id:a1', 'p1')],
        messages: [message('mv', 1, ['anonymous_id:a3', 'anonymous_id:a4', 'anonymous_id:a1'])],
        profiles: [profile('p3', 'c3', 'anonymous_id:a3'), profile('p1', 'c1', 'anonymous_id:a1')],
      });
      await store.write(async (tx) => {
        expect((await tx.match.violatedRejections(WS, [pid('p3'), pid('p1')])).map((p) => p.id)).toEqual(['mp_3']);
        expect(await tx.match.violatedRejections(WS, [pid('p1')])).toEqual([]);
        await tx.match.savePairs(WS, [{ ...pair('anonymous_id:a2', 'user_id:u1', 'accepted', 'mp_2'), decidedAt: 99 }]);
        await tx.match.deletePairs(WS, ['mp_1']);
        await tx.match.deleteRecords(WS, [key('user_id:u1')]);
        expect(await tx.match.candidates(WS, ['0:HLNK'], 10)).toEqual([]);
        expect((await tx.match.scanRecords(WS, null, 10)).map((r) => r.key)).toEqual(['anonymous_id:a1']);
        await tx.match.clearRecords(WS);
        expect(await tx.match.scanRecords(WS, null, 10)).toEqual([]);
        expect(await tx.match.candidates(WS, ['2:x'], 10)).toEqual([]);
      });
      expect(await store.read.match.countPairs(WS)).toEqual({ linked: 0, review: 0, accepted: 1, rejected: 1 });
      expect((await store.read.match.pairById(WS, 'mp_2'))?.decidedAt).toBe(99);
      expect((await store.read.match.loadRecords(OTHER, [key('user_id:u1')])).length).toBe(1);
    });
  });
}
