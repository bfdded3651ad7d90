/**
 * The resolver alone, without HTTP: the benchmark dataset, validated and prepared up front, resolved
 * into a fresh SQLite file in groups of a given size on this thread. Prints microseconds per
 * message (wall and CPU; CPU includes the checkpointer thread) and the resolver's counters, so a
 * change to the resolver or the store can be measured on its own:
 *
 *   node --import tsx bench/resolver.ts [--people 10000] [--group 200] [--postgres]
 *
 * `--postgres` resolves into a database of its own on the local PostgreSQL server
 * (KITH_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import { openPostgresStore } from '../src/store/postgres/postgres-store.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../src/store/postgres/postgres-database.ts';
import { inProcessWriter } from '../src/ingest/batch-writer.ts';
import { generateDataset, shuffled } from '../src/demo/generate-dataset.ts';
import { validateMessage } from '../src/spec/validate-message.ts';
import { prepareMessage } from '../src/ingest/prepare-message.ts';
import { DEFAULT_RULES } from '../src/identity/rules.ts';
import type { WorkspaceId } from '../src/store/ports.ts';
import type { PreparedMessage, ResolveStats } from '../src/identity/resolve-batch.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a positive integer`);
  return n;
}

const people = option('--people', 10_000);
const group = option('--group', 200);
const now = Date.now();
const prepared: PreparedMessage[] = [];
for (const raw of shuffled(generateDataset({ people, seed: 42 }).messages, 7)) {
  const checked = validateMessage(raw, { receivedAt: now });
  if (checked.ok) prepared.push(prepareMessage(checked.message, 'bench', DEFAULT_RULES).prepared);
}
const postgres = process.argv.includes('--postgres');
const server = process.env.KITH_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `kith_resolver_bench_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'kith-resolver-bench-'));
try {
  const store = postgres
    ? await openPostgresStore({ url: await createPostgresDatabase(server, dbName), migrate: true })
    : openSqliteStore({ path: join(dir, 'kith.db') });
  const ws = 'ws_bench' as WorkspaceId;
  await store.admin.createWorkspace({ id: ws, name: 'bench', createdAt: now, rules: DEFAULT_RULES });
  const writer = inProcessWriter(store);
  const stats: Partial<Record<keyof ResolveStats, number>> = {};
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < prepared.length; i += group) {
    const written = await writer.write([{ ws: { id: ws, rules: DEFAULT_RULES }, messages: prepared.slice(i, i + group), rejected: [] }], now);
    for (const [k, v] of Object.entries(written.stats) as Array<[keyof ResolveStats, number]>) stats[k] = (stats[k] ?? 0) + v;
  }
  const wall = (performance.now() - started) * 1000;
  const used = process.cpuUsage(cpu);
  const per = (us: number): string => (us / prepared.length).toFixed(1);
  process.stdout.write(
    `${postgres ? 'PostgreSQL' : 'SQLite'}: ${people} people, ${prepared.length} messages in groups of ${group}: wall ${per(wall)} µs/msg, cpu ${per(used.user + used.system)} µs/msg (user ${per(used.user)}, system ${per(used.system)}); ${JSON.stringify(stats)}\n`,
  );
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (postgres) await dropPostgresDatabase(server, dbName);
}
