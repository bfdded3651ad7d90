import type { Config } from './config.ts';
import type { Store } from './store/ports.ts';
import { openSqliteStore } from './store/sqlite/sqlite-store.ts';
import { migratePostgres, openPostgresStore, redactUrl } from './store/postgres/postgres-store.ts';
import { GroupCommitter } from './ingest/group-commit.ts';
import { inProcessWriter, type BatchWriter } from './ingest/batch-writer.ts';
import { workerBatchWriter } from './ingest/worker-batch-writer.ts';
import { WorkspaceService } from './workspace/workspace-service.ts';
import { Metrics } from './observability/metrics.ts';

/** The services every entry point (HTTP server, CLI commands) is built from. */
export interface App {
  readonly store: Store;
  readonly workspaces: WorkspaceService;
  readonly committer: GroupCommitter;
  readonly metrics: Metrics;
  readonly now: () => number;
  close(): Promise<void>;
}

export interface AppOptions {
  readonly now?: () => number;
  /**
   * Page cache of the embedded store's read connection, in MB (default 64). SQLite empties a
   * connection's cache whenever another connection has committed since its last read, so while the
   * resolver thread writes, this cache only serves one read at a time: a bulk import needs little.
   */
  readonly readerCacheMb?: number;
  /**
   * Page cache of the resolver's write connection (embedded store), in MB (default 64). It holds
   * the B-tree pages resolution reads and rewrites; a batch job bounded in memory trades some of
   * its speed for a smaller one.
   */
  readonly writerCacheMb?: number;
}

/**
 * The composition root: chooses the store for the configured location and wires the services.
 * A `postgres://` (or `postgresql://`) URL opens the PostgreSQL store, applying pending migrations
 * first (safe when several nodes start at once), and resolves on the caller's event loop: the
 * network round trips leave it free. Anything else is a SQLite file, resolved on a worker thread.
 */
export async function createApp(config: Pick<Config, 'db'>, options: AppOptions = {}): Promise<App> {
  const now = options.now ?? Date.now;
  const { store, writer } = await openStorage(config.db, options.readerCacheMb ?? 64, options.writerCacheMb ?? 64);
  const metrics = new Metrics();
  const committer = new GroupCommitter(writer, {
    now,
    onCommit: ({ messages, ms, stats }) => {
      metrics.transaction.observe(ms / 1000);
      metrics.groupSize.observe(messages);
      metrics.merges.inc(stats.merges);
      metrics.splits.inc(stats.splits);
      metrics.quarantines.inc(stats.quarantines);
      metrics.replays.inc(stats.replays > 0 ? 1 : 0);
    },
  });
  return {
    store,
    workspaces: new WorkspaceService(store, now),
    committer,
    metrics,
    now,
    async close() {
      await committer.close();
      await store.close();
    },
  };
}

/** True when `--db` / `KITH_DB` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The location as it may be shown: a URL loses its password. */
export function describeLocation(location: string): string {
  return isPostgresUrl(location) ? redactUrl(location) : location;
}

/**
 * Brings a PostgreSQL database's schema up to date (`kith migrate`); returns the versions before
 * and after. SQLite files need no such step: they are migrated whenever they are opened.
 */
export function migrateDatabase(url: string): Promise<{ from: number; to: number }> {
  if (!isPostgresUrl(url)) throw new Error(`not a PostgreSQL URL: ${url}`);
  return migratePostgres(url);
}

async function openStorage(location: string, readerCacheMb: number, writerCacheMb: number): Promise<{ store: Store; writer: BatchWriter }> {
  if (isPostgresUrl(location)) {
    const store = await openPostgresStore({ url: location, migrate: true });
    return { store, writer: inProcessWriter(store) };
  }
  if (location === ':memory:') {
    const store = openSqliteStore({ path: location });
    return { store, writer: inProcessWriter(store) };
  }
  // The worker thread's connection resolves and writes; this one's writer serves settings and deletions.
  const store = openSqliteStore({ path: location, cacheMb: { writer: 8, reader: readerCacheMb } });
  const writer = workerBatchWriter(new URL('./resolver-worker.ts', import.meta.url), { path: location, cacheMb: writerCacheMb });
  return { store, writer };
}
