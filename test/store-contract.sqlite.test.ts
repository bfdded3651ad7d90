import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/ports.ts';
import { describe, expect, it } from 'vitest';
import type { IdentifierKey } from '../src/identity/identifier.ts';
import type { ProfileId, WorkspaceId } from '../src/store/ports.ts';
import { DEFAULT_RULES } from '../src/identity/rules.ts';
import { changeSet } from '../src/store/change-set.ts';
import { describeStoreContract } from './store-contract.ts';

const paths = new WeakMap<Store, string>();

describeStoreContract('sqlite (file)', {
  async open() {
    const path = join(mkdtempSync(join(tmpdir(), 'kith-contract-')), 'kith.db');
    const store = openSqliteStore({ path });
    paths.set(store, path);
    return store;
  },
  async dispose(store) {
    await store.close();
    rmSync(dirname(paths.get(store)!), { recursive: true, force: true });
  },
});

describe('sqlite (file): identifier profiles as of one moment', () => {
  it('does not see what another connection commits while the answer is being read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kith-snapshot-'));
    const path = join(dir, 'kith.db');
    const store = openSqliteStore({ path });
    const other = new Database(path);
    try {
      const ws = 'ws_snap' as WorkspaceId;
      await store.admin.createWorkspace({ id: ws, name: 'snap', createdAt: 0, rules: DEFAULT_RULES });
      const keys = Array.from({ length: 50 }, (_, i) => `user_id:u${String(i).padStart(2, '0')}` as IdentifierKey);
      await store.write((tx) => tx.apply(ws, changeSet({ identifiers: keys.map((key) => ({ key, profileId: 'p1' as ProfileId, quarantined: false, peers: {} })) })));
      // Another writer (the resolver thread, in kith) moves every identifier to p2 as soon as the
      // moment is fixed, and commits before the rows are read.
      const seen = await store.read.identifierProfiles(ws, keys, () => {
        other.prepare("UPDATE identifiers SET profile = 'p2' WHERE ws = ?").run(ws);
      });
      expect(seen.size).toBe(50);
      expect(new Set(seen.values())).toEqual(new Set(['p1']));
      expect(new Set((await store.read.identifierProfiles(ws, keys)).values())).toEqual(new Set(['p2']));
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
