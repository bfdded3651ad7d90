import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { EvidenceMessage, Store, WorkspaceId } from '../store/ports.ts';
import { DEFAULT_RULES, type IdentityRules } from './rules.ts';
import { resolveBatch, type PreparedMessage } from './resolve-batch.ts';
import { replay } from './replay.ts';
import { sortKeys } from './extract-identifiers.ts';
import { identifierKey, type IdentifierKey } from './identifier.ts';
import { traitValues } from '../profile/traits.ts';
import { deleteIdentifier } from './delete-identifier.ts';
import { consentPreferences } from '../profile/consent.ts';
import { shuffle } from '../../test/seeded-shuffle.ts';

const WS = 'ws_test' as WorkspaceId;

/** A small identifier universe, so random messages collide, merge, and hit the limits. */
const identifierArb = fc.oneof(
  fc.constantFrom('u1', 'u2', 'u3').map((v) => identifierKey('user_id', v)),
  fc.constantFrom('e1@x.io', 'e2@x.io', 'e3@x.io').map((v) => identifierKey('email', v)),
  fc.constantFrom('+14155550101', '+14155550102').map((v) => identifierKey('phone', v)),
  fc.constantFrom('a1', 'a2', 'a3', 'a4', 'a5', 'a6').map((v) => identifierKey('anonymous_id', v)),
  fc.constantFrom('d1', 'd2').map((v) => identifierKey('device_id', v)),
);

const messageArb = fc.record({
  keys: fc.uniqueArray(identifierArb, { minLength: 0, maxLength: 4 }),
  t: fc.integer({ min: 0, max: 40 }),
  identify: fc.boolean(),
  plan: fc.constantFrom('free', 'pro', 'team'),
  // Segment's consent shape on any message type; survivorship per purpose, like traits.
  consent: fc.option(fc.dictionary(fc.constantFrom('Advertising', 'Analytics'), fc.boolean()), { nil: null }),
});

type Generated = { keys: IdentifierKey[]; t: number; identify: boolean; plan: string; consent?: Record<string, boolean> | null };

function toPrepared(list: Generated[], rules: IdentityRules): PreparedMessage[] {
  return list.map((m, i) => ({
    messageId: `m${String(i).padStart(3, '0')}`,
    type: m.identify ? 'identify' : 'track',
    event: m.identify ? null : 'Clicked',
    t: m.t * 1000,
    receivedAt: 0,
    source: 'test',
    keys: sortKeys([...m.keys], rules),
    traits: m.identify ? { plan: m.plan, seen: m.t } : null,
    consent: consentPreferences(m.consent ?? null),
    body: JSON.stringify({
      ...(m.identify ? { type: 'identify', traits: { plan: m.plan, seen: m.t } } : { type: 'track' }),
      ...(m.consent == null ? {} : { context: { consent: { categoryPreferences: m.consent } } }),
    }),
  }));
}

async function ingest(store: Store, rules: IdentityRules, messages: PreparedMessage[], batches: number[]): Promise<void> {
  let i = 0;
  let b = 0;
  while (i < messages.length) {
    const size = Math.max(1, batches[b++ % batches.length] ?? 1);
    const chunk = messages.slice(i, i + size);
    i += size;
    await store.write((tx) => resolveBatch(tx, { id: WS, rules }, chunk, 0));
  }
}

/**
 * The observable result: every identifier's profile id and where it was first seen (read from the
 * evidence), and every profile's founder with the founder's first evidence, traits and consent.
 */
async function snapshot(store: Store, keys: Iterable<IdentifierKey>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const sorted = [...new Set(keys)].sort();
  const first = await store.read.firstEvidence(WS, sorted);
  for (const key of sorted) {
    const s = await store.read.findIdentifier(WS, key);
    if (s === undefined) continue;
    if (s.profileId === null) {
      out[key] = s.quarantined ? 'quarantined' : 'unresolved';
      continue;
    }
    const p = await store.read.loadProfile(WS, s.profileId);
    const seen = first.get(key);
    out[key] = {
      profile: s.profileId,
      founder: p === undefined ? 'missing profile' : [p.founder, p.founderT, p.founderM, p.founderPos],
      firstSeen: seen === undefined ? 'no evidence' : [seen.t, seen.messageId],
      traits: p === undefined ? 'missing profile' : traitValues(p.traits),
      consent: traitValues(p?.consent ?? {}),
    };
  }
  return out;
}

function expected(messages: PreparedMessage[], rules: IdentityRules): Record<string, unknown> {
  const evidence: EvidenceMessage[] = messages.map((m) => ({
    messageId: m.messageId,
    type: m.type,
    t: m.t,
    source: m.source,
    keys: m.keys,
    primary: null,
    traits: m.traits,
    consent: m.consent ?? null,
  }));
  const result = replay({ ws: WS, rules, messages: evidence, quarantined: new Set() });
  const profiles = new Map(result.profiles.map((p) => [p.id, p]));
  // First seen: the earliest message carrying the identifier, in canonical order.
  const firstSeen = new Map<IdentifierKey, [number, string]>();
  for (const m of [...messages].sort((a, b) => a.t - b.t || (a.messageId < b.messageId ? -1 : 1))) {
    for (const k of m.keys) if (!firstSeen.has(k)) firstSeen.set(k, [m.t, m.messageId]);
  }
  const out: Record<string, unknown> = {};
  for (const key of [...result.identifiers.keys()].sort()) {
    const s = result.identifiers.get(key)!;
    const p = profiles.get(s.profileId!)!;
    out[key] = s.quarantined
      ? 'quarantined'
      : {
          profile: s.profileId,
          founder: [p.founder, p.founderT, p.founderM, p.founderPos],
          firstSeen: firstSeen.get(key),
          traits: traitValues(p.traits),
          consent: traitValues(p.consent ?? {}),
        };
  }
  return out;
}

const RULE_SETS: Array<[string, IdentityRules]> = [
  ['default rules', DEFAULT_RULES],
  ['tight limits and quarantine', { ...DEFAULT_RULES, types: { ...DEFAULT_RULES.types, email: { priority: 2, limit: 1 } }, quarantine: { maxPeers: 2, peerTypes: ['user_id', 'email'] } }],
];

describe('sequence neutrality of the resolver', () => {
  for (const [name, rules] of RULE_SETS) {
    it(`gives the replay's profiles for any arrival order and batching (${name})`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(messageArb, { minLength: 1, maxLength: 25 }),
          fc.infiniteStream(fc.nat()).map((s) => s),
          fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
          fc.integer(),
          async (list, _stream, batches, seed) => {
            const messages = toPrepared(list, rules);
            const order = shuffle(messages, seed);
            const store = openSqliteStore({ path: ':memory:' });
            try {
              await ingest(store, rules, order, batches);
              const keys = messages.flatMap((m) => m.keys);
              const want = expected(messages, rules);
              const got = await snapshot(store, keys);
              expect(got).toEqual(want);
            } finally {
              await store.close();
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  }

  it('deleting an identifier equals resolving the evidence without it from scratch', async () => {
    const rules: IdentityRules = { ...DEFAULT_RULES, types: { ...DEFAULT_RULES.types, email: { priority: 2, limit: 2 } } };
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 20 }), fc.integer(), fc.nat(), async (list, seed, pick) => {
        const messages = toPrepared(list, rules);
        const keys = [...new Set(messages.flatMap((m) => m.keys))].sort();
        fc.pre(keys.length > 0);
        const victim = keys[pick % keys.length]!;
        const store = openSqliteStore({ path: ':memory:' });
        try {
          await ingest(store, rules, shuffle(messages, seed), [3]);
          const state = await store.read.findIdentifier(WS, victim);
          fc.pre(state?.profileId !== null && state?.profileId !== undefined);
          const ws = { id: WS, name: 'test', createdAt: 0, rules };
          const outcome = await deleteIdentifier(store, ws, state!.profileId!, victim, 0);
          expect(outcome.ok).toBe(true);
          const without = messages.map((m) => ({ ...m, keys: m.keys.filter((k) => k !== victim) }));
          const want = expected(without, rules);
          const got = await snapshot(store, keys);
          expect(got).toEqual(want);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('treats a repeated message id as a no-op', async () => {
    const rules = DEFAULT_RULES;
    const messages = toPrepared(
      [
        { keys: [identifierKey('user_id', 'u1'), identifierKey('anonymous_id', 'a1')], t: 1, identify: true, plan: 'pro' },
        { keys: [identifierKey('anonymous_id', 'a1')], t: 2, identify: false, plan: 'free' },
      ],
      rules,
    );
    const store = openSqliteStore({ path: ':memory:' });
    await ingest(store, rules, messages, [2]);
    const before = await snapshot(store, messages.flatMap((m) => m.keys));
    const again = await store.write((tx) => resolveBatch(tx, { id: WS, rules }, messages, 0));
    expect([...again.outcomes.values()]).toEqual(['duplicate', 'duplicate']);
    expect(await snapshot(store, messages.flatMap((m) => m.keys))).toEqual(before);
    expect((await store.read.stats(WS)).messages).toBe(2);
    await store.close();
  });
});
