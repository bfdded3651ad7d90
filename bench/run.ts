/**
 * `npm run bench`: every benchmark of kith, one table. Sizes can be chosen with
 * `npm run bench -- --people 10000,100000`.
 */
import { ingestBench, type IngestFigures } from './ingest-bench.ts';

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

const rows: IngestFigures[] = [];
for (const people of parseSizes(process.argv.slice(2))) {
  log(`ingest benchmark, ${people} people`);
  rows.push(await ingestBench(people, log));
}

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
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}\n`);
process.stdout.write(`\nnode ${process.version}, ${new Date().toISOString()}; ingest: /v1/batch, ${100} messages per request, 4 keep-alive clients, arrival order shuffled\n`);
