import type { Config } from './config.ts';
import type { Store } from './store/ports.ts';
import { openSqliteStore } from './store/sqlite/sqlite-store.ts';
import { GroupCommitter } from './ingest/group-commit.ts';
import { inProcessWriter } from './ingest/batch-writer.ts';
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

/** The composition root: chooses the store for the configured location and wires the services. */
export function createApp(config: Pick<Config, 'db'>, options: { now?: () => number } = {}): App {
  const now = options.now ?? Date.now;
  const store = openStore(config.db);
  const writer = config.db === ':memory:' ? inProcessWriter(store) : workerBatchWriter(new URL('./resolver-worker.ts', import.meta.url), { path: config.db });
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

function openStore(location: string): Store {
  if (/^postgres(ql)?:\/\//.test(location)) {
    throw new Error('PostgreSQL is not supported yet: use a SQLite file path for --db');
  }
  return openSqliteStore({ path: location });
}
