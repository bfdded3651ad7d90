/**
 * The file import benchmark: a generated CSV (one million rows by default) imported end to end by
 * `kith import` run as a user runs it (the bin, in a process of its own: read, parse, map,
 * validate, normalise, resolve, commit, in batches with read-your-writes) against a floor
 * measured in the same run, also in a process of its own (bench/import-floor.ts): the same file
 * parsed by the same CSV reader and each row inserted raw into SQLite, durably, nothing else.
 * Reports rows/s and the peak RSS of each process, seen from outside (every thread counts), and
 * where kith's CPU time goes: its main thread (reading, converting, validating rows), its busiest
 * other thread (the resolver, which does every SQLite write) and the rest (V8's GC helpers, the
 * checkpointer, disk syncs).
 *
 * Run alone: `node --import tsx bench/import.ts [--rows 1000000]`; `importBench` is what
 * `bench/run.ts` calls.
 */
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImportSummary } from '../src/import/import-records.ts';
import { runMeasured } from './process-usage.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kith.js');

export interface ImportFigures {
  readonly rows: number;
  readonly fileBytes: number;
  readonly floorRate: number;
  readonly floorPeakRssMb: number;
  readonly kithRate: number;
  readonly kithPeakRssMb: number;
  /** CPU time per row of the kith process: all threads, its main thread, its busiest other thread (the resolver). */
  readonly kithCpuUsPerRow: { readonly all: number; readonly main: number; readonly resolver: number };
  readonly summary: ImportSummary;
  readonly loadAverage: number;
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

/** The floor in a process of its own: bench/import-floor.ts. */
async function floor(dir: string, file: string, mappingFile: string): Promise<{ rate: number; peakRssMb: number }> {
  const run = await runMeasured(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'import-floor.ts'), file, join(dir, 'floor.db'), mappingFile], { cwd: ROOT });
  if (run.code !== 0) throw new Error(`the floor process failed (exit ${run.code})`);
  const { rows, ms } = JSON.parse(run.stdout) as { rows: number; ms: number };
  return { rate: rows / (ms / 1000), peakRssMb: run.peakRssMb };
}

/** `kith import`, started through the bin as `npx kith` starts it (its shebang line runs it). */
async function kith(dir: string, file: string, mappingFile: string): Promise<Omit<ImportFigures, 'rows' | 'fileBytes' | 'floorRate' | 'floorPeakRssMb' | 'loadAverage'>> {
  const db = join(dir, 'kith.db');
  const created = await runMeasured(BIN, ['workspace', 'create', 'default', '--db', db], { cwd: ROOT });
  if (created.code !== 0) throw new Error(`kith workspace create failed (exit ${created.code})`);
  const run = await runMeasured(BIN, ['import', file, '--source', 'bench', '--mapping', mappingFile, '--db', db, '--json'], { cwd: ROOT });
  if (run.code !== 0) throw new Error(`kith import failed (exit ${run.code})`);
  const summary = JSON.parse(run.stdout) as ImportSummary;
  const perRow = (ms: number): number => (ms * 1000) / summary.rowsRead;
  return {
    kithRate: summary.rowsRead / (summary.durationMs / 1000),
    kithPeakRssMb: run.peakRssMb,
    kithCpuUsPerRow: { all: perRow(run.cpuMs), main: perRow(run.mainThreadCpuMs), resolver: perRow(run.busiestThreadCpuMs) },
    summary,
  };
}

export async function importBench(rows: number, log: (line: string) => void): Promise<ImportFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'kith-import-bench-'));
  try {
    const file = join(dir, 'customers.csv');
    await generate(file, rows);
    const mappingFile = join(dir, 'customers.mapping.yaml');
    writeFileSync(mappingFile, MAPPING);
    const fileBytes = statSync(file).size;
    log(`  generated ${rows} rows (${(fileBytes / 1e6).toFixed(0)} MB)`);
    const f = await floor(dir, file, mappingFile);
    log(`  floor: ${f.rate.toFixed(0)} rows/s, peak RSS ${f.peakRssMb.toFixed(0)} MB`);
    const k = await kith(dir, file, mappingFile);
    log(`  kith: ${k.kithRate.toFixed(0)} rows/s, peak RSS ${k.kithPeakRssMb.toFixed(0)} MB, CPU µs/row ${k.kithCpuUsPerRow.all.toFixed(0)} (main thread ${k.kithCpuUsPerRow.main.toFixed(0)}, resolver ${k.kithCpuUsPerRow.resolver.toFixed(0)})`);
    return { rows, fileBytes, floorRate: f.rate, floorPeakRssMb: f.peakRssMb, ...k, loadAverage: loadavg()[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What the table's figures are, under it. */
export function importNote(figures: ImportFigures): string {
  return (
    `node ${process.version}, ${new Date().toISOString()}, load average ${figures.loadAverage.toFixed(2)} at the end; ` +
    '`kith import` of a generated CSV, each run a process of its own, vs the same reader + raw SQLite inserts; peak RSS is VmHWM ' +
    '(all threads); CPU µs/row: the whole kith process, its main thread, its busiest other thread (the resolver)\n'
  );
}

/** The table row(s) `bench/run.ts` prints. */
export function importTable(figures: readonly ImportFigures[]): string {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  const header = ['rows', 'file MB', 'floor rows/s', 'kith rows/s', 'kith/floor', 'floor peak RSS MB', 'kith peak RSS MB', 'kith CPU µs/row: all', 'main', 'resolver', 'profiles created', 'rejected'];
  const table = figures.map((r) => [
    fmt(r.rows),
    fmt(r.fileBytes / 1e6),
    fmt(r.floorRate),
    fmt(r.kithRate),
    `${(r.kithRate / r.floorRate).toFixed(2)}${r.kithRate / r.floorRate >= 0.5 ? '' : ' (below 0.5 goal)'}`,
    fmt(r.floorPeakRssMb),
    `${fmt(r.kithPeakRssMb)}${r.kithPeakRssMb < 300 ? '' : ' (above 300 MB goal)'}`,
    fmt(r.kithCpuUsPerRow.all),
    fmt(r.kithCpuUsPerRow.main),
    fmt(r.kithCpuUsPerRow.resolver),
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
  process.stdout.write(`\n${importTable([figures])}\n${importNote(figures)}\n`);
}
