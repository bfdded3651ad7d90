import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite/sqlite-store.ts';
import type { WorkspaceId } from '../store/ports.ts';
import { testModel } from '../../test/match-test-model.ts';
import { DEFAULT_RULES, type IdentityRules } from './rules.ts';
import { resolveBatch, type PreparedMessage } from './resolve-batch.ts';
import { matchAfterBatch } from './match-after-batch.ts';
import { sortKeys } from './extract-identifiers.ts';
import { identifierKey } from './identifier.ts';
import { DEFAULT_MATCHING } from './match-settings.ts';

const WS = 'ws_after_batch' as WorkspaceId;
const model = testModel();
const rules: IdentityRules = { ...DEFAULT_RULES, matching: { ...DEFAULT_MATCHING, model: model.version } };

function identify(id: string, key: string, t: number, traits: Record<string, unknown>): PreparedMessage {
  return {
    messageId: id,
    type: 'identify',
    event: null,
    t,
    receivedAt: 0,
    source: 'test',
    keys: sortKeys([identifierKey('anonymous_id', key)], rules),
    traits: traits as never,
    consent: null,
    body: JSON.stringify({ type: 'identify', messageId: id, timestamp: t, traits }),
  };
}

const margaret = { firstName: 'Margaret', lastName: 'Hollings', birthday: '1984-03-12', address: { street: '42 Larch Lane', city: 'Springfield', postalCode: '62704' } };

describe('matching after a batch', () => {
  it('saves a repeated identify call but compares nothing again; a changed trait is scored', async () => {
    const store = openSqliteStore({ path: ':memory:' });
    try {
      await store.write((tx) => tx.match.saveModel(WS, { version: model.version, createdAt: 0, model }));
      await store.write((tx) => resolveBatch(tx, { id: WS, rules }, [identify('m1', 'card', 1000, margaret), identify('m2', 'web', 2000, { ...margaret, firstName: 'Margret' })], 0));
      const key = identifierKey('anonymous_id', 'web');

      const repeated = identify('m3', 'web', 3000, { ...margaret, firstName: 'Margret' });
      const same = await store.write((tx) => matchAfterBatch(tx, { id: WS, rules }, { messages: [repeated], changedProfiles: [], now: 0 }));
      expect(same).toMatchObject({ records: 0, compared: 0 });
      // The survivorship bookkeeping moved on: the later call is now when the name was last seen.
      const [saved] = await store.read.match.loadRecords(WS, [key]);
      expect(saved!.values.firstName).toMatchObject({ v: 'Margret', t: 3000, m: 'm3' });

      const moved = identify('m4', 'web', 4000, { ...margaret, firstName: 'Margret', lastName: 'Hollins' });
      const changed = await store.write((tx) => matchAfterBatch(tx, { id: WS, rules }, { messages: [moved], changedProfiles: [], now: 0 }));
      expect(changed.records).toBe(1);
      expect(changed.compared).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
