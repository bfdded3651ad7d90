import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Store, WriteTx } from '../ports.ts';
import { PostgresAdmin } from './postgres-admin.ts';
import { PostgresRead } from './postgres-read.ts';
import { PG_TYPES, sqlState, type Queryable } from './postgres-rows.ts';
import { PostgresWriteTx, RETRYABLE_CODES } from './postgres-write-tx.ts';
import { MIGRATIONS, MIGRATION_LOCK_KEY } from './schema.ts';
import { ERASED_TABLES } from './postgres-erase.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (or `postgresql://`). */
  readonly url: string;
  /** Connections in the pool (default 10): concurrent write transactions plus reads. */
  readonly maxConnections?: number;
  /** Apply pending migrations before opening (default false: the store then refuses an old schema). */
  readonly migrate?: boolean;
  /** Attempts of one unit of work before a conflict (deadlock, concurrent insert) is passed on (default 10). */
  readonly maxAttempts?: number;
  /** Shown in `pg_stat_activity` (default `kith`). */
  readonly applicationName?: string;
  /** Called before each retry of a unit of work that lost a conflict, for metrics and logs. */
  readonly onRetry?: (info: { attempt: number; code: string }) => void;
}

const DEFAULTS = { maxConnections: 10, migrate: false, maxAttempts: 10, applicationName: 'kith' } as const;

/** What a retried unit of work waits before its next attempt: exponential, with full jitter. */
const BACKOFF = { baseMs: 4, capMs: 250 } as const;

/**
 * Opens the PostgreSQL store: one connection pool shared by reads, admin calls and write
 * transactions. Refuses a database whose schema is missing, older or newer than this kith, with a
 * message naming `kith migrate`, unless `migrate` is set.
 *
 * Concurrency. Each `write(fn)` is one transaction on its own pool client, so units of work run in
 * parallel, in this process and in any number of others, and wait for each other only where they
 * touch the same components: loads lock the rows they return (the components row of each raw
 * component, see postgres-locks.ts) and read them again once locked, at READ COMMITTED so that
 * every statement sees what the previous lock holder committed. The resolver then decides on rows
 * nobody else can change before it commits, which makes the outcome that of some serial order of
 * the units of work (and so the canonical graph, invariant 2), and it never waits on work in other
 * components.
 *
 * SERIALIZABLE alone was measured and rejected: its predicate locks cover index pages (and whole
 * indexes, once a batch reads more than a few dozen pages), so two writers ingesting unrelated
 * people, even into different workspaces, kept failing each other until retries ran out.
 *
 * What locks cannot prevent (two units of work creating the same identifier or message at once,
 * or a deadlock between units of work whose components merge) ends in an error; the whole `fn`
 * then runs again on fresh state after a jittered backoff, up to `maxAttempts` times. `fn` must
 * therefore be safe to re-run: it rebuilds everything from what it loads, as the resolver does.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const config = Object.freeze({ ...DEFAULTS, ...options });
  if (config.migrate) await migratePostgres(config.url);
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.maxConnections,
    types: PG_TYPES,
    application_name: config.applicationName,
    // The few statements of one `apply` go out together and come back together: one round trip.
    pipeline: true,
  });
  // An idle client whose connection dropped (server restart, network) is discarded by the pool and
  // replaced on the next checkout; without a listener the event would crash the process.
  pool.on('error', ignore);
  try {
    await checkSchema(pool, config.url);
  } catch (err) {
    await pool.end();
    throw err;
  }

  // The transaction a call runs in, when it runs inside `write(fn)`: admin calls join it.
  const current = new AsyncLocalStorage<{ client: pg.PoolClient | null }>();
  const db = (): Queryable => current.getStore()?.client ?? pool;
  const inFlight = new Set<Promise<unknown>>();
  let closed = false;

  /** One try of a unit of work; a failure says which retryable condition it met, if any. */
  async function attempt<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown; retryable: string | undefined }> {
    const client = await pool.connect();
    // A connection that breaks mid-transaction fails the running query, and so `fn`; the client's
    // 'error' event needs a listener all the same, or it would crash the process.
    client.on('error', ignore);
    const context = { client: client as pg.PoolClient | null };
    const tx = new PostgresWriteTx(client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const value = await current.run(context, () => fn(tx));
      await client.query('COMMIT');
      return { ok: true, value };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: make the pool close it rather than hand it out again.
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      const state = sqlState(tx.retryable ?? error);
      return { ok: false, error, retryable: state !== undefined && RETRYABLE_CODES.has(state) ? state : undefined };
    } finally {
      context.client = null;
      client.removeListener('error', ignore);
      client.release(broken);
    }
  }

  async function write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      if (closed) throw new Error('store is closed');
      const outcome = await attempt(fn);
      if (outcome.ok) return outcome.value;
      if (outcome.retryable === undefined || n >= config.maxAttempts) throw outcome.error;
      config.onRetry?.({ attempt: n, code: outcome.retryable });
      const cap = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** (n - 1));
      await sleep(Math.random() * cap);
    }
  }

  return {
    kind: 'postgres',
    admin: new PostgresAdmin(db),
    read: new PostgresRead(pool),
    write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
      const running = write(fn);
      inFlight.add(running);
      void running.then(
        () => inFlight.delete(running),
        () => inFlight.delete(running),
      );
      return running;
    },
    async scrub(): Promise<{ complete: boolean; detail: string }> {
      // VACUUM cannot run inside a transaction: it runs on the pool. It removes the dead row
      // versions and their index entries; the bytes of the space it frees are not zeroed, and WAL
      // segments keep them until recycled (see docs/decisions.md, "Privacy").
      await pool.query(`VACUUM ${ERASED_TABLES.join(', ')}`);
      return { complete: true, detail: `VACUUM ${ERASED_TABLES.join(', ')}` };
    },
    async close(): Promise<void> {
      await Promise.allSettled([...inFlight]);
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/**
 * Applies the migrations a database lacks, in order, in one transaction that first takes a
 * transaction-level advisory lock on a fixed key: any number of nodes may run it at once (on
 * `kith migrate` or at start); the first applies what is missing, the others wait for its commit
 * and find nothing left to do. Returns the schema version before and after.
 */
export async function migratePostgres(url: string): Promise<{ from: number; to: number }> {
  const client = new pg.Client({ connectionString: url, types: PG_TYPES, application_name: 'kith migrate' });
  client.on('error', ignore);
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    // No DDL at all when the schema is current, so nodes may connect as a role without CREATE.
    const { rows } = await client.query<{ present: boolean }>("SELECT to_regclass('kith_migrations') IS NOT NULL AS present");
    const from = rows[0]?.present === true ? await schemaVersion(client) : 0;
    if (from > MIGRATIONS.length) throw newerSchema(from);
    if (from < MIGRATIONS.length) {
      await client.query('CREATE TABLE IF NOT EXISTS kith_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
    }
    for (let v = from; v < MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v]!);
      await client.query('INSERT INTO kith_migrations (version, applied_at) VALUES ($1, $2)', [v + 1, Date.now()]);
    }
    await client.query('COMMIT');
    return { from, to: MIGRATIONS.length };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.end();
  }
}

/** Listener for driver 'error' events whose error also reaches the caller through a failed query. */
function ignore(): void {}

async function schemaVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM kith_migrations');
  return rows[0]?.v ?? 0;
}

async function checkSchema(db: Queryable, url: string): Promise<void> {
  let version: number;
  try {
    version = await schemaVersion(db);
  } catch (err) {
    if (sqlState(err) !== '42P01') throw err;
    version = 0;
  }
  if (version > MIGRATIONS.length) throw newerSchema(version);
  if (version < MIGRATIONS.length) {
    throw new Error(`database schema version ${version} is older than this kith (${MIGRATIONS.length}); run: kith migrate --db ${redactUrl(url)}`);
  }
}

function newerSchema(version: number): Error {
  return new Error(`database schema version ${version} is newer than this kith (${MIGRATIONS.length}); upgrade kith`);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
