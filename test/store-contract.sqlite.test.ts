import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../src/store/ports.ts';
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
