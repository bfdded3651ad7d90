/**
 * The file import benchmark: a generated CSV (one million rows by default) imported end to end
 * (read, parse, map, validate, normalise, resolve, commit, in batches with read-your-writes)
 * against a floor measured in the same run: the same file parsed by the same CSV reader and each
 * row inserted raw into SQLite, durably, nothing else. Reports rows/s and peak RSS of each.
 *
 * Run alone: `node --import tsx bench/import.ts [--rows 1000000]`; `importBench` is what
 * `bench/run.ts` calls.
 */
import Database from 'better-sqlite3';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../src/app.ts';
import { parseImportMapping, type ImportMapping } from '../src/import/import-mapping.ts';
import { importRecords, type ImportSummary } from '../src/import/import-records.ts';
import { openImportSource } from '../src/import/import-source.ts';

export interface ImportFigures {
  readonly rows: number;
  readonly fileBytes: number;
  readonly floorRate: number;
  readonly floorPeakRssMb: number;
  readonly kithRate: number;
  readonly kithPeakRssMb: number;
  readonly summary: ImportSummary;
}

const MAPPING = `
type: identify
key: [customer_id, updated_at]
timestamp: updated_at
columns:
  customer_id: { identifier: user_id }
  email: { identifier: email, trait: email }
  phone: { identifier: phone }
  loyalty_card: { identifier: loyalty_id }
  first_name: { trait: firstName }
  city: { trait: address.city }
  lifetime_value: { trait: lifetimeValue, type: number }
  opt_in: { trait: marketingOptIn, type: boolean }
`;

const CITIES = ['San Francisco', 'New York', 'Seattle', 'Austin', 'Chicago', 'Boston, MA', 'Denver', 'Portland'];
const NAMES = ['Jane', 'Omar', 'Li', 'María', 'Sam', 'Ken', 'Priya', 'Ana', 'Tom', 'Zoe'];

/**
 * Writes the CSV: mostly one row per customer; the last fifth are the same customers seen again
 * later (a second export) with a loyalty card added, so resolution links as well as creates.
 */
async function generate(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('customer_id,email,phone,loyalty_card,first_name,city,lifetime_value,opt_in,updated_at\n');
  const people = Math.max(1, Math.floor(rows * 0.8));
  let chunk = '';
  for (let i = 0; i < rows; i++) {
    const p = i < people ? i : i - people;
    const again = i >= people;
    const phone = p % 3 === 0 ? `+1415${String(2000000 + (p % 7_000_000)).padStart(7, '0')}` : '';
    const card = again || p % 4 === 0 ? `LC-${700000 + p}` : '';
    const city = CITIES[p % CITIES.length]!;
    const day = again ? '2024-06-01' : '2024-01-01';
    chunk += `C-${p},person.${p}@example.com,${phone},${card},${NAMES[p % NAMES.length]},"${city}",${((p * 37) % 5000) + 0.25},${p % 2 === 0 ? 'yes' : 'no'},${day} ${String(p % 24).padStart(2, '0')}:00:00\n`;
    if (chunk.length > 1 << 16) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');
}

/** Samples the process's resident set size until stopped; returns the peak in MB. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss()) / (1024 * 1024);
    },
  };
}

/** Same reader (csv-parse through openImportSource), one durable raw insert per row. */
async function floor(dir: string, file: string, mapping: ImportMapping): Promise<{ rate: number; peakRssMb: number }> {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = full');
  db.exec('CREATE TABLE raw (seq INTEGER PRIMARY KEY, line INTEGER NOT NULL, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO raw (line, body) VALUES (?, ?)');
  const store = db.transaction((batch: Array<[number, string]>) => {
    for (const [line, body] of batch) insert.run(line, body);
  });
  const rss = rssSampler();
  const started = performance.now();
  const source = await openImportSource(createReadStream(file), mapping, {});
  let batch: Array<[number, string]> = [];
  let n = 0;
  for await (const r of source.records) {
    if (!r.ok) continue;
    batch.push([r.line, JSON.stringify(r.record)]);
    n++;
    if (batch.length === 1000) {
      store(batch);
      batch = [];
    }
  }
  store(batch);
  const seconds = (performance.now() - started) / 1000;
  const peakRssMb = rss.stop();
  db.close();
  return { rate: n / seconds, peakRssMb };
}

async function kith(dir: string, file: string, mapping: ImportMapping, log: (line: string) => void): Promise<{ rate: number; peakRssMb: number; summary: ImportSummary }> {
  const app = await createApp({ db: join(dir, 'kith.db') });
  try {
    const created = await app.workspaces.create('default');
    if (!created.ok) throw new Error(created.message);
    const ws = (await app.workspaces.byName('default'))!;
    const rss = rssSampler();
    const started = performance.now();
    const source = await openImportSource(createReadStream(file), mapping, {});
    let next = 100_000;
    const summary = await importRecords({ read: app.store.read, sink: app.committer }, ws, source.records, {
      source: 'bench',
      mapping,
      onProgress: (p) => {
        if (p.rowsRead >= next) {
          log(`  kith: ${p.rowsRead} rows, ${(p.rowsRead / (p.elapsedMs / 1000)).toFixed(0)} rows/s`);
          next += 100_000;
        }
      },
    });
    const seconds = (performance.now() - started) / 1000;
    return { rate: summary.rowsRead / seconds, peakRssMb: rss.stop(), summary };
  } finally {
    await app.close();
  }
}

export async function importBench(rows: number, log: (line: string) => void): Promise<ImportFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'kith-import-bench-'));
  try {
    const file = join(dir, 'customers.csv');
    await generate(file, rows);
    const fileBytes = statSync(file).size;
    log(`  generated ${rows} rows (${(fileBytes / 1e6).toFixed(0)} MB)`);
    const parsed = parseImportMapping(MAPPING);
    if (!parsed.ok) throw new Error(parsed.message);
    const f = await floor(dir, file, parsed.mapping);
    log(`  floor: ${f.rate.toFixed(0)} rows/s, peak RSS ${f.peakRssMb.toFixed(0)} MB`);
    const k = await kith(dir, file, parsed.mapping, log);
    log(`  kith: ${k.rate.toFixed(0)} rows/s, peak RSS ${k.peakRssMb.toFixed(0)} MB`);
    return { rows, fileBytes, floorRate: f.rate, floorPeakRssMb: f.peakRssMb, kithRate: k.rate, kithPeakRssMb: k.peakRssMb, summary: k.summary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The table row(s) `bench/run.ts` prints. */
export function importTable(figures: readonly ImportFigures[]): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const header = ['rows', 'file MB', 'floor rows/s', 'kith rows/s', 'kith/floor', 'floor peak RSS MB', 'kith peak RSS MB', 'profiles created', 'rejected'];
  const table = figures.map((r) => [
    fmt(r.rows),
    fmt(r.fileBytes / 1e6),
    fmt(r.floorRate),
    fmt(r.kithRate),
    `${(r.kithRate / r.floorRate).toFixed(2)}${r.kithRate / r.floorRate >= 0.5 ? '' : ' (below 0.5 goal)'}`,
    fmt(r.floorPeakRssMb),
    `${fmt(r.kithPeakRssMb)}${r.kithPeakRssMb < 300 ? '' : ' (above 300 MB goal)'}`,
    fmt(r.summary.newProfiles),
    fmt(r.summary.rejected),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return `${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--rows');
  const rows = i >= 0 ? Number(process.argv[i + 1]) : 1_000_000;
  if (!Number.isInteger(rows) || rows < 1) throw new Error('--rows takes a positive integer');
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  log(`import benchmark, ${rows} rows`);
  const figures = await importBench(rows, log);
  process.stdout.write(`\n${importTable([figures])}\nnode ${process.version}, ${new Date().toISOString()}; CSV → kith import (batches of 1000) vs the same reader + raw SQLite inserts\n`);
}
