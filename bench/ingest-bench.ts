/**
 * The spine benchmark: ingest through /v1/batch with full resolution against a floor measured in
 * the same run (same HTTP stack and batches, each raw message stored durably in SQLite, no identity
 * work), Profile API lookup latency, and pairwise precision/recall against the generator's truth.
 */
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { createApp } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { generateDataset, shuffled, type GeneratedDataset } from '../src/demo/generate-dataset.ts';
import type { IdentifierKey } from '../src/identity/identifier.ts';
import { extractIdentifiers } from '../src/identity/extract-identifiers.ts';
import { DEFAULT_RULES, type IdentityRules } from '../src/identity/rules.ts';
import { validateMessage } from '../src/spec/validate-message.ts';

const BATCH = 100;
const CLIENTS = 4;

export interface IngestFigures {
  readonly people: number;
  readonly messages: number;
  readonly floorRate: number;
  readonly kithRate: number;
  readonly lookupP50: number;
  readonly lookupP99: number;
  readonly precision: number;
  readonly recall: number;
  /** Recall if every evidence-connected group of identifiers were one profile: the data's ceiling. */
  readonly recallCeiling: number;
  readonly profiles: number;
}

/** Sends every batch over `CLIENTS` keep-alive connections; returns messages per second. */
async function send(url: string, auth: string, bodies: readonly string[]): Promise<number> {
  const pool = new Pool(url, { connections: CLIENTS, pipelining: 1 });
  let next = 0;
  let messages = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await pool.request({ path: '/v1/batch', method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`batch failed: ${res.statusCode} ${text.slice(0, 300)}`);
      messages += BATCH;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, worker));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return messages / seconds;
}

function batchBodies(data: GeneratedDataset, seed: number): string[] {
  const order = shuffled(data.messages, seed);
  const sentAt = new Date().toISOString();
  const bodies: string[] = [];
  for (let i = 0; i < order.length; i += BATCH) bodies.push(JSON.stringify({ batch: order.slice(i, i + BATCH), sentAt }));
  return bodies;
}

/** The floor: the same HTTP receive and parse, one durable SQLite insert per message, nothing else. */
async function floor(dir: string, bodies: readonly string[]): Promise<number> {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = full');
  db.exec('CREATE TABLE raw (seq INTEGER PRIMARY KEY, message_id TEXT UNIQUE, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT OR IGNORE INTO raw (message_id, body) VALUES (?, ?)');
  const store = db.transaction((batch: Array<Record<string, unknown>>) => {
    for (const m of batch) insert.run(String(m.messageId), JSON.stringify(m));
  });
  const server = Fastify({ bodyLimit: 500 * 1024 });
  server.post('/v1/batch', async (req) => {
    store((req.body as { batch: Array<Record<string, unknown>> }).batch);
    return { success: true };
  });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const port = (server.server.address() as { port: number }).port;
  const rate = await send(`http://127.0.0.1:${port}`, 'Basic x', bodies);
  await server.close();
  db.close();
  return rate;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs the whole ingest benchmark for one dataset size. */
export async function ingestBench(people: number, log: (line: string) => void): Promise<IngestFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'kith-bench-'));
  try {
    const data = generateDataset({ people, seed: 42 });
    const bodies = batchBodies(data, 7);
    log(`  ${people} people: ${data.messages.length} messages in ${bodies.length} batches`);
    const floorRate = await floor(dir, bodies);
    log(`  floor: ${floorRate.toFixed(0)} msg/s`);

    const app = await createApp({ db: join(dir, 'kith.db') });
    const created = await app.workspaces.create('bench');
    if (!created.ok) throw new Error(created.message);
    const server = buildServer(app);
    await server.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
    const kithRate = await send(url, `Basic ${Buffer.from(`${created.created.writeKey}:`).toString('base64')}`, bodies);
    log(`  kith: ${kithRate.toFixed(0)} msg/s`);

    // Lookups: Profile API /traits by random known identifiers, one keep-alive client, sequential.
    const keys = [...data.truth.keys()];
    const pool = new Pool(url, { connections: 1 });
    const readAuth = `Basic ${Buffer.from(`${created.created.readKey}:`).toString('base64')}`;
    const timings: number[] = [];
    for (let i = 0; i < 6000; i++) {
      const key = keys[(i * 7919) % keys.length]!;
      const started = performance.now();
      const res = await pool.request({ path: `/v1/spaces/bench/collections/users/profiles/${encodeURIComponent(key)}/traits`, method: 'GET', headers: { authorization: readAuth } });
      await res.body.text();
      if (i >= 1000) timings.push(performance.now() - started);
      if (res.statusCode !== 200 && res.statusCode !== 404) throw new Error(`lookup failed: ${res.statusCode}`);
    }
    await pool.close();
    timings.sort((a, b) => a - b);

    // Accuracy: pairwise over identifiers the generator says belong to one person.
    const profileOf = new Map<string, string>();
    const ws = created.created.workspace.id;
    for (let i = 0; i < keys.length; i += 500) {
      for (const s of await app.store.read.loadIdentifiers(ws, keys.slice(i, i + 500) as IdentifierKey[])) {
        if (s.profileId !== null) profileOf.set(s.key, s.profileId);
      }
    }
    const { precision, recall } = pairwise(data.truth, profileOf);
    const stats = await app.store.read.stats(ws);
    const recallCeiling = pairwise(data.truth, evidenceComponents(data)).recall;
    await server.close();
    await app.close();
    return {
      people,
      messages: data.messages.length,
      floorRate,
      kithRate,
      lookupP50: percentile(timings, 50),
      lookupP99: percentile(timings, 99),
      precision,
      recall,
      recallCeiling,
      profiles: stats.profiles,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Groups identifiers by raw evidence alone (no limits, no quarantine; junk values are still
 * refused): the most any deterministic resolver could join from this data.
 */
function evidenceComponents(data: GeneratedDataset): Map<string, string> {
  const rules: IdentityRules = { ...DEFAULT_RULES, types: {}, quarantine: { maxPeers: 1_000_000, peerTypes: [] } };
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  for (const raw of data.messages) {
    const checked = validateMessage(raw, { receivedAt: Date.now() });
    if (!checked.ok) continue;
    const keys = extractIdentifiers(checked.message, rules).keys;
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    for (const k of keys.slice(1)) parent.set(find(k), find(keys[0]!));
  }
  const out = new Map<string, string>();
  for (const k of parent.keys()) out.set(k, find(k));
  return out;
}

/**
 * Pairwise precision and recall of predicted clusters (profiles) against true ones (people), over
 * the identifiers in the truth. Identifiers with no profile count as singletons.
 */
export function pairwise(truth: ReadonlyMap<string, string>, predicted: ReadonlyMap<string, string>): { precision: number; recall: number } {
  const pairs = (n: number): number => (n * (n - 1)) / 2;
  const cells = new Map<string, number>();
  const byTruth = new Map<string, number>();
  const byPredicted = new Map<string, number>();
  for (const [key, person] of truth) {
    const profile = predicted.get(key) ?? `singleton:${key}`;
    cells.set(`${profile}\0${person}`, (cells.get(`${profile}\0${person}`) ?? 0) + 1);
    byTruth.set(person, (byTruth.get(person) ?? 0) + 1);
    byPredicted.set(profile, (byPredicted.get(profile) ?? 0) + 1);
  }
  let tp = 0;
  for (const n of cells.values()) tp += pairs(n);
  let truePairs = 0;
  for (const n of byTruth.values()) truePairs += pairs(n);
  let predictedPairs = 0;
  for (const n of byPredicted.values()) predictedPairs += pairs(n);
  return { precision: predictedPairs === 0 ? 1 : tp / predictedPairs, recall: truePairs === 0 ? 1 : tp / truePairs };
}
