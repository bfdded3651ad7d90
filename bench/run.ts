/**
 * `npm run bench`: every benchmark of kith, one table per part. Choose parts and sizes with
 * `npm run bench -- --only ingest,import,postgres --people 10000,100000 --rows 1000000 --pg-people 2000`.
 * The matcher's accuracy and speed have their own command, `npm run bench:match`.
 */
import { ingestBench, type IngestFigures } from './ingest-bench.ts';
import { importBench, importNote, importTable } from './import.ts';
import { postgresBench, postgresTable } from './postgres.ts';

function parseSizes(argv: readonly string[]): number[] {
  const i = argv.indexOf('--people');
  const raw = i >= 0 ? argv[i + 1] : undefined;
  if (raw === undefined) return [10_000, 100_000];
  return raw.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--people takes a comma-separated list of integers, got "${raw}"`);
    return n;
  });
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function positive(name: string, fallback: number): number {
  const raw = option(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} takes a positive integer, got "${raw}"`);
  return n;
}

const PARTS = ['ingest', 'import', 'postgres'] as const;
const only = (option('--only') ?? PARTS.join(',')).split(',');
for (const part of only) if (!(PARTS as readonly string[]).includes(part)) throw new Error(`--only takes some of ${PARTS.join(', ')}, got "${part}"`);

const rows: IngestFigures[] = [];
if (only.includes('ingest')) {
  for (const people of parseSizes(process.argv.slice(2))) {
    log(`ingest benchmark, ${people} people`);
    rows.push(await ingestBench(people, log));
  }
}
const importRows = positive('--rows', 1_000_000);
const imported = only.includes('import') ? (log(`import benchmark, ${importRows} rows`), await importBench(importRows, log)) : undefined;
const postgres = only.includes('postgres') ? await postgresBench(positive('--pg-people', 2000), [1, 2, 3], log) : undefined;

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const header = ['people', 'messages', 'floor msg/s', 'kith msg/s', 'kith/floor', 'lookup p50 ms', 'lookup p99 ms', 'precision', 'recall', 'recall ceiling', 'profiles'];
const table = rows.map((r) => [
  fmt(r.people),
  fmt(r.messages),
  fmt(r.floorRate),
  fmt(r.kithRate),
  `${(r.kithRate / r.floorRate).toFixed(2)}${r.kithRate / r.floorRate >= 0.5 ? '' : ' (below 0.5 goal)'}`,
  r.lookupP50.toFixed(2),
  `${r.lookupP99.toFixed(2)}${r.lookupP99 < 2 ? '' : ' (above 2 ms goal)'}`,
  r.precision.toFixed(4),
  r.recall.toFixed(4),
  r.recallCeiling.toFixed(4),
  fmt(r.profiles),
]);
const output: string[] = [];
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
if (rows.length > 0) {
  output.push(`\n## Ingest with full resolution (embedded SQLite)\n\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}\n`);
  output.push(`ingest: /v1/batch, ${100} messages per request, 4 keep-alive clients, arrival order shuffled\n`);
}
if (imported !== undefined) {
  output.push(`\n## File import (CSV, embedded SQLite)\n\n${importTable([imported])}`);
  output.push(importNote(imported));
}
if (postgres !== undefined) output.push(`\n## PostgreSQL store with JetStream intake\n\n${postgresTable(postgres)}`);
output.push(`\nnode ${process.version}, ${new Date().toISOString()}\n`);
process.stdout.write(output.join(''));
