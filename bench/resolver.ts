/**
 * The resolver alone, without HTTP: the benchmark dataset, validated and prepared up front, resolved
 * into a fresh SQLite file in groups of a given size on this thread. Prints microseconds per
 * message (wall and CPU; CPU includes the checkpointer thread) and the resolver's counters, so a
 * change to the resolver or the store can be measured on its own:
 *
 *   node --import tsx bench/resolver.ts [--people 10000] [--group 200] [--postgres] [--matching]
 *
 * `--postgres` resolves into a database of its own on the local PostgreSQL server
 * (KITH_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 *
 * `--matching` measures what probabilistic matching adds to the real-time path. The dataset is
 * resolved into two stores; in one a model is then trained on its personal records (`kith match
 * train`). Two more streams are timed on both: every message again under a new message id
 * (identify calls repeat their traits: no personal trait changes), and every identify call again
 * with its last name changed (each changes a personal record, which is re-blocked and scored).
 * The difference between the stores is matching's cost per message.
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
import { DEFAULT_RULES, type IdentityRules } from '../src/identity/rules.ts';
import { trainWorkspaceModel } from '../src/identity/match-configure.ts';
import type { Store, WorkspaceId } from '../src/store/ports.ts';
import type { PreparedMessage, ResolveStats } from '../src/identity/resolve-batch.ts';
import { positiveOption } from './positive-option.ts';

/** A generated message as sent (before validation). */
type Message = Record<string, unknown>;

const people = positiveOption('--people', 10_000);
const group = positiveOption('--group', 200);
const now = Date.now();
const raw = shuffled(generateDataset({ people, seed: 42 }).messages, 7);
function prepare(messages: readonly Message[]): PreparedMessage[] {
  const out: PreparedMessage[] = [];
  for (const m of messages) {
    const checked = validateMessage(m, { receivedAt: now });
    if (checked.ok) out.push(prepareMessage(checked.message, 'bench', DEFAULT_RULES).prepared);
  }
  return out;
}
const prepared = prepare(raw);
const postgres = process.argv.includes('--postgres');
const server = process.env.KITH_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `kith_resolver_bench_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'kith-resolver-bench-'));
const ws = 'ws_bench' as WorkspaceId;

interface Timed {
  readonly messages: number;
  /** Microseconds per message, wall and CPU (user + system). */
  readonly wall: number;
  readonly cpu: number;
  readonly user: number;
  readonly system: number;
  readonly stats: Partial<Record<keyof ResolveStats, number>>;
}

/** Resolves the messages in groups of `group`, timed. */
async function resolveTimed(store: Store, rules: IdentityRules, messages: readonly PreparedMessage[]): Promise<Timed> {
  const writer = inProcessWriter(store);
  const stats: Partial<Record<keyof ResolveStats, number>> = {};
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < messages.length; i += group) {
    const written = await writer.write([{ ws: { id: ws, rules }, messages: messages.slice(i, i + group), rejected: [] }], now);
    for (const [k, v] of Object.entries(written.stats) as Array<[keyof ResolveStats, number]>) stats[k] = (stats[k] ?? 0) + v;
  }
  const wall = (performance.now() - started) * 1000;
  const used = process.cpuUsage(cpu);
  const per = (us: number): number => us / Math.max(messages.length, 1);
  return { messages: messages.length, wall: per(wall), cpu: per(used.user + used.system), user: per(used.user), system: per(used.system), stats };
}

const line = (t: Timed): string =>
  `wall ${t.wall.toFixed(1)} µs/msg, cpu ${t.cpu.toFixed(1)} µs/msg (user ${t.user.toFixed(1)}, system ${t.system.toFixed(1)})`;

async function openStore(name: string): Promise<Store> {
  const store = postgres
    ? await openPostgresStore({ url: await createPostgresDatabase(server, `${dbName}_${name}`), migrate: true })
    : openSqliteStore({ path: join(dir, `${name}.db`) });
  await store.admin.createWorkspace({ id: ws, name: 'bench', createdAt: now, rules: DEFAULT_RULES });
  return store;
}

/** The messages again under new message ids; identify calls with `traits` changed by `change` when given. */
function again(suffix: string, change?: (traits: Message) => Message): PreparedMessage[] {
  const out: Message[] = [];
  for (const m of raw) {
    if (change !== undefined && m.type !== 'identify') continue;
    const traits = m.traits as Message | undefined;
    out.push({ ...m, messageId: `${String(m.messageId)}-${suffix}`, ...(change !== undefined && traits !== undefined ? { traits: change(traits) } : {}) });
  }
  return prepare(out);
}

try {
  if (!process.argv.includes('--matching')) {
    const store = await openStore('kith');
    const t = await resolveTimed(store, DEFAULT_RULES, prepared);
    process.stdout.write(`${postgres ? 'PostgreSQL' : 'SQLite'}: ${people} people, ${prepared.length} messages in groups of ${group}: ${line(t)}; ${JSON.stringify(t.stats)}\n`);
    await store.close();
  } else {
    const plain = await openStore('plain');
    const matched = await openStore('matched');
    await resolveTimed(plain, DEFAULT_RULES, prepared);
    await resolveTimed(matched, DEFAULT_RULES, prepared);
    const workspace = await matched.admin.workspaceById(ws);
    const trained = await trainWorkspaceModel(matched, workspace!, { now });
    if (!trained.ok) throw new Error(trained.message);
    const rules = trained.workspace.rules;
    process.stdout.write(
      `${postgres ? 'PostgreSQL' : 'SQLite'}: ${people} people, ${prepared.length} messages resolved into both stores; model ${trained.model.version} trained on ${trained.records} personal records\n`,
    );
    const streams: [string, PreparedMessage[]][] = [
      ['no personal trait changes (every message again)', again('again')],
      ['last name changed (every identify call again)', again('moved', (t) => ({ ...t, ...(typeof t.lastName === 'string' ? { lastName: `${t.lastName}son` } : {}) }))],
    ];
    for (const [name, messages] of streams) {
      const without = await resolveTimed(plain, DEFAULT_RULES, messages);
      const withModel = await resolveTimed(matched, rules, messages);
      process.stdout.write(
        `${name}, ${messages.length} messages:\n` +
          `  without matching: ${line(without)}\n` +
          `  with a model:     ${line(withModel)}; ${JSON.stringify(withModel.stats)}\n` +
          `  matching adds ${(withModel.wall - without.wall).toFixed(1)} µs/msg wall, ${(withModel.cpu - without.cpu).toFixed(1)} µs/msg cpu\n`,
      );
    }
    await plain.close();
    await matched.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (postgres) for (const name of ['kith', 'plain', 'matched']) await dropPostgresDatabase(server, `${dbName}_${name}`).catch(() => undefined);
}
