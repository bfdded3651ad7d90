import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Store } from '../ports.ts';
import { MIGRATIONS } from './schema.ts';
import { SqliteAdmin } from './sqlite-admin.ts';
import { SqliteRead } from './sqlite-read.ts';
import { SqliteWriteTx } from './sqlite-write-tx.ts';
import { startCheckpointer } from './checkpointer.ts';
import { WalSync } from './wal-sync.ts';

export interface SqliteStoreOptions {
  /** File path, or `:memory:` for throwaway stores in unit tests. */
  readonly path: string;
  /**
   * `full` (default): a write resolves only once its WAL frames are on disk (survives power loss),
   * synced off the JavaScript thread (see WalSync). `normal`: survives process crashes only.
   */
  readonly synchronous?: 'full' | 'normal';
  /** Run the background checkpointer (default true); one per database file is enough. */
  readonly checkpoint?: boolean;
  /**
   * Page cache of the write connection and of the read connection, in MB (default 64 each). When
   * another connection does the resolving (the resolver worker thread), this one's writer only
   * serves settings and deletions and needs little.
   */
  readonly cacheMb?: { readonly writer?: number; readonly reader?: number };
}

/**
 * The embedded store: one SQLite file in WAL mode. Writes go through one connection, one
 * transaction at a time (callers group-commit many requests into each); reads use a second
 * connection, so the Profile API sees the last committed state and never a half-applied batch.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const memory = options.path === ':memory:';
  if (!memory) mkdirSync(dirname(options.path), { recursive: true });
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  // The WAL is fsynced by WalSync after each commit, off the JS thread, instead of inside COMMIT.
  db.pragma(`synchronous = ${memory ? 'off' : 'normal'}`);
  const walSync = memory || options.synchronous === 'normal' ? undefined : new WalSync(`${options.path}-wal`);
  db.pragma('foreign_keys = ON');
  // Privacy: every row deleted or rewritten, and every page freed, is overwritten with zeros, so
  // old copies of a person's data do not linger in free space where erasure could not reach them.
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${1024 * (options.cacheMb?.writer ?? 64)}`);
  migrate(db);
  const checkpointer = memory || options.checkpoint === false ? undefined : startCheckpointer(options.path);
  // The checkpointer thread (one per file, run by the main store) keeps the WAL short; this mark
  // (about 64 MB) only matters if it stalls.
  if (!memory) db.pragma('wal_autocheckpoint = 16000');
  // An in-memory database cannot be shared between connections: read through the writer.
  const reader = memory ? db : new Database(options.path, { readonly: true });
  if (!memory) {
    reader.pragma('busy_timeout = 5000');
    reader.pragma(`cache_size = -${1024 * (options.cacheMb?.reader ?? 64)}`);
  }

  const admin = new SqliteAdmin(db);
  const read = new SqliteRead(reader);
  const tx = new SqliteWriteTx(db);
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  return {
    kind: 'sqlite',
    admin,
    read,
    write<T>(fn: (t: SqliteWriteTx) => Promise<T>): Promise<T> {
      const run = async (): Promise<T> => {
        if (closed) throw new Error('store is closed');
        db.exec('BEGIN IMMEDIATE');
        tx.begin();
        try {
          const result = await fn(tx);
          db.exec('COMMIT');
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      };
      // One write transaction at a time: each waits for the previous one, whatever its outcome.
      // The next one may start while this one's WAL sync is still running.
      const next = queue.then(run, run);
      queue = next.catch(() => undefined);
      if (walSync === undefined) return next;
      return next.then(async (result) => {
        await walSync.flush();
        return result;
      });
    },
    scrub(): Promise<{ complete: boolean; detail: string }> {
      const run = async (): Promise<{ complete: boolean; detail: string }> => {
        if (memory) return { complete: true, detail: 'in-memory store: nothing on disk' };
        // Deleted rows are zeroed where they lay (secure_delete), but B-trees keep copies of some
        // keys as dividers in their interior pages after the rows are gone (whole rows, for a
        // WITHOUT ROWID table): rebuilding the file leaves only live rows. It holds the write lock
        // for as long as it takes, proportional to the store's size; writers wait meanwhile.
        try {
          db.exec('VACUUM');
        } catch (err) {
          return { complete: false, detail: `could not rebuild the database file (${err instanceof Error ? err.message : String(err)}); erase again when it is less busy` };
        }
        // TRUNCATE copies every committed page into the file and empties the WAL, which still holds
        // older page images; readers may delay it briefly.
        for (let attempt = 0; attempt < 100; attempt++) {
          const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
          if (r?.busy === 0) return { complete: true, detail: 'database file rebuilt, WAL checkpointed into it and truncated' };
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return { complete: false, detail: 'readers kept the WAL busy; it will be truncated by the next checkpoint' };
      };
      const next = queue.then(run, run);
      queue = next.catch(() => undefined);
      return next;
    },
    async close(): Promise<void> {
      await queue;
      if (closed) return;
      closed = true;
      await checkpointer?.stop();
      walSync?.close();
      if (!memory) {
        reader.close();
        db.pragma('wal_checkpoint(TRUNCATE)');
      }
      db.close();
    },
  };
}

function migrate(db: Database.Database): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new Error(`database schema version ${version} is newer than this kith (${MIGRATIONS.length}); upgrade kith`);
  }
  if (version === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  })();
}
