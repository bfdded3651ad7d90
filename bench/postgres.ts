/**
 * The PostgreSQL benchmark (issue 5): ingest through the JetStream intake with 1, 2 and 3
 * `kith worker` processes, each against a floor measured in the same run — the same messages,
 * inserted raw into PostgreSQL in the same batches by the same number of parallel writers, no
 * identity work — and Profile API lookup latency on the PostgreSQL store.
 *
 *   node --import tsx bench/postgres.ts [--people 2000] [--workers 1,2,3] [--batch 500]
 *
 * Needs PostgreSQL (KITH_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 * and NATS with JetStream (KITH_BENCH_NATS_URL, default nats://127.0.0.1:4222). Every run uses a
 * database and a stream of its own and removes them.
 *
 * The kith rate is end to end, as an operator sees it: from the first message handed to the
 * intake (validation, preparation, the JetStream append) until every message is resolved,
 * committed and acknowledged. The load is generated in this process, on the same machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Pool } from 'undici';
import { createApp } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { IngestService } from '../src/ingest/ingest-service.ts';
import { BusIntake } from '../src/bus/bus-intake.ts';
import { parseBusConfig } from '../src/bus/bus-config.ts';
import { connectBus, ensureIntake, removeIntake } from '../src/bus/nats-bus.ts';
import { generateDataset, shuffled, type GeneratedDataset } from '../src/demo/generate-dataset.ts';
import { createPostgresDatabase, dropPostgresDatabase } from '../src/store/postgres/postgres-database.ts';

const SERVER = process.env.KITH_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NATS = process.env.KITH_BENCH_NATS_URL ?? 'nats://127.0.0.1:4222';
const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'bin', 'kith.js');
/** Messages per HTTP-sized request handed to the intake, and per worker pull / floor transaction. */
const REQUEST = 100;
const WORKER_BATCH = Number(arg('--batch', '1000'));
const LOOKUPS = 2000;

export interface PostgresFigures {
  readonly workers: number;
  readonly messages: number;
  readonly floorRate: number;
  readonly kithRate: number;
  readonly lookupP50?: number;
  readonly lookupP99?: number;
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Inserts every message raw (id and JSON body) in WORKER_BATCH-row statements, `writers` in parallel. */
async function floor(url: string, data: GeneratedDataset, writers: number, seed: number): Promise<number> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('CREATE TABLE raw_messages (ws text NOT NULL, message_id text NOT NULL, body json NOT NULL, PRIMARY KEY (ws, message_id))');
  await setup.end();
  const order = shuffled(data.messages, seed);
  const batches: Array<Record<string, unknown>[]> = [];
  // Rows in key order within each statement, so parallel writers meeting a duplicate delivery
  // wait for each other instead of deadlocking.
  const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => ((a.messageId as string) < (b.messageId as string) ? -1 : 1);
  for (let i = 0; i < order.length; i += WORKER_BATCH) batches.push(order.slice(i, i + WORKER_BATCH).sort(byId));
  const pool = new pg.Pool({ connectionString: url, max: writers });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await pool.query('INSERT INTO raw_messages SELECT $1, id, body::json FROM unnest($2::text[], $3::text[]) AS t(id, body) ON CONFLICT DO NOTHING', [
          'ws_bench',
          batch.map((m) => m.messageId as string),
          batch.map((m) => JSON.stringify(m)),
        ]);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.end();
  return order.length / seconds;
}

function startWorker(db: string, stream: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [BIN, 'worker', '--db', db, '--bus', NATS, '--stream', stream, '--batch', String(WORKER_BATCH), '--metrics-port', '0'], {
    env: { ...process.env, KITH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((done, fail) => {
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes('resolving stream')) done();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => fail(new Error(`kith worker exited (${code}): ${out}`)));
  });
  return { child, ready };
}

async function lookups(url: string, readKey: string, data: GeneratedDataset): Promise<{ p50: number; p99: number }> {
  const ids = [...data.truth.keys()];
  const pool = new Pool(url, { connections: 1 });
  const auth = `Basic ${Buffer.from(`${readKey}:`).toString('base64')}`;
  const timings: number[] = [];
  for (let i = 0; i < LOOKUPS; i++) {
    const id = ids[(i * 7919) % ids.length]!;
    const started = performance.now();
    const res = await pool.request({ path: `/v1/spaces/default/collections/users/profiles/${encodeURIComponent(id)}/traits`, method: 'GET', headers: { authorization: auth } });
    await res.body.text();
    if (res.statusCode !== 200 && res.statusCode !== 404) throw new Error(`lookup failed: ${res.statusCode}`);
    if (i >= 100) timings.push(performance.now() - started); // the first hundred warm up
  }
  await pool.close();
  timings.sort((a, b) => a - b);
  const at = (p: number) => timings[Math.min(timings.length - 1, Math.floor((p / 100) * timings.length))]!;
  return { p50: at(50), p99: at(99) };
}

/** One row: `workers` workers resolving the dataset through a stream of its own into a database of its own. */
export async function postgresRun(data: GeneratedDataset, workers: number, opts: { lookups: boolean }): Promise<PostgresFigures> {
  const tag = randomBytes(4).toString('hex');
  const dbName = `kith_bench_${tag}`;
  const floorName = `kith_bench_floor_${tag}`;
  const db = await createPostgresDatabase(SERVER, dbName);
  const floorDb = await createPostgresDatabase(SERVER, floorName);
  const bus = await connectBus(parseBusConfig(NATS, `KITH_BENCH_${tag.toUpperCase()}`), 'kith bench');
  const app = await createApp({ db });
  const children: ChildProcess[] = [];
  try {
    const floorRate = await floor(floorDb, data, workers, 3);
    await ensureIntake(bus);
    const created = await app.workspaces.create('default');
    if (!created.ok) throw new Error(created.message);
    const ws = created.created.workspace;
    const started = Array.from({ length: workers }, () => startWorker(db, bus.names.stream));
    children.push(...started.map((s) => s.child));
    await Promise.all(started.map((s) => s.ready));

    const intake = new BusIntake({ bus, local: app.committer, store: app.store, waitMs: 0 });
    await intake.start();
    const ingest = new IngestService(intake, app.now);
    const order = shuffled(data.messages, 3);
    const distinct = new Set(order.map((m) => m.messageId as string)).size;
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < order.length) {
          const from = next;
          next += REQUEST;
          const result = await ingest.batch(ws, 'default', { batch: order.slice(from, from + REQUEST) });
          if (!result.ok) throw new Error(`intake refused a batch: ${JSON.stringify(result.problem)}`);
        }
      }),
    );
    for (;;) {
      const info = await bus.jsm.streams.info(bus.names.stream);
      if (info.state.messages === 0 && (await app.store.read.stats(ws.id)).messages === distinct) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const kithRate = order.length / ((performance.now() - t0) / 1000);
    intake.close();

    let lookup: { p50: number; p99: number } | undefined;
    if (opts.lookups) {
      const server = buildServer(app);
      await server.listen({ port: 0, host: '127.0.0.1' });
      const address = server.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      lookup = await lookups(`http://127.0.0.1:${port}`, created.created.readKey, data);
      await server.close();
    }
    return { workers, messages: order.length, floorRate, kithRate, ...(lookup === undefined ? {} : { lookupP50: lookup.p50, lookupP99: lookup.p99 }) };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)))));
    await app.close();
    await removeIntake(bus);
    await bus.close();
    await dropPostgresDatabase(SERVER, dbName);
    await dropPostgresDatabase(SERVER, floorName);
  }
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** Runs the PostgreSQL benchmark: the same dataset through 1, 2, 3… workers; lookups after the last. */
export async function postgresBench(people: number, counts: readonly number[], say: (line: string) => void = log): Promise<PostgresFigures[]> {
  const data = generateDataset({ people });
  say(`PostgreSQL benchmark: ${people} people, ${data.messages.length} messages`);
  const rows: PostgresFigures[] = [];
  for (const [i, n] of counts.entries()) {
    say(`  ${n} worker(s)…`);
    rows.push(await postgresRun(data, n, { lookups: i === counts.length - 1 }));
  }
  return rows;
}

/** The table `bench/run.ts` prints, with the run's conditions underneath. */
export function postgresTable(rows: readonly PostgresFigures[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const header = ['workers', 'messages', 'floor msg/s', 'kith msg/s', 'kith/floor', 'lookup p50 ms', 'lookup p99 ms'];
  const table = rows.map((r) => [
    String(r.workers),
    fmt(r.messages),
    fmt(r.floorRate),
    fmt(r.kithRate),
    (r.kithRate / r.floorRate).toFixed(2),
    r.lookupP50 === undefined ? '' : r.lookupP50.toFixed(2),
    r.lookupP99 === undefined ? '' : r.lookupP99.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return (
    `${[line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...table.map(line)].join('\n')}\n` +
    `\nJetStream intake: ${REQUEST} messages per request, 4 concurrent, arrival order shuffled; workers pull ${WORKER_BATCH}; floor: raw multi-row INSERTs of ${WORKER_BATCH} by as many writers as workers; lookups: ${LOOKUPS} Profile API reads over loopback after the last run\n`
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const people = Number(arg('--people', '2000'));
  const counts = arg('--workers', '1,2,3').split(',').map(Number);
  if (!Number.isInteger(people) || people < 1 || counts.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('usage: bench/postgres.ts [--people N] [--workers 1,2,3]');
  const rows = await postgresBench(people, counts);
  process.stdout.write(`${postgresTable(rows)}\nnode ${process.version}, ${new Date().toISOString()}\n`);
}
