/**
 * `npm run bench:match`: unsupervised matching accuracy, time and memory.
 *
 * - The labelled datasets in ../shared/datasets (see bench/match-datasets.ts): pairwise precision,
 *   recall and F1 against their truth.
 * - Generated person records (bench/synthetic-people.ts) at 10,000, 100,000 and 1,000,000 rows,
 *   deduplicated end to end from a CSV file as `kith dedupe` does it: read, block, train, score,
 *   cluster; scored against the generator's truth.
 *
 * Every row runs in a child process of its own, so its peak memory (the process's maximum
 * resident set size) and its time are its own. Seconds count from reading the file (labelled
 * sets: from the parsed records) to the clusters; generating the file is not counted.
 *
 * A second table splits each row's seconds into its phases: reading the CSV (generated rows),
 * preparing the records, blocking, comparing the candidate pairs, training, scoring, clustering.
 *
 * `--only febrl3,synthetic-100k` runs a subset; `--quick` leaves out the million.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { columnMapping, readCsv, toMatchInputs } from '../src/cli/csv-records.ts';
import type { MatchInput } from '../src/match/attributes.ts';
import { pairwiseScores } from '../src/match/evaluate.ts';
import { matchRecords, type MatchResult } from '../src/match/match-records.ts';
import { LABELLED_DATASETS } from './match-datasets.ts';
import { syntheticPeople, syntheticPeopleCsv } from './synthetic-people.ts';

const LABELLED = LABELLED_DATASETS;
const SYNTHETIC: Record<string, number> = { 'synthetic-10k': 10_000, 'synthetic-100k': 100_000, 'synthetic-1M': 1_000_000 };

interface Row {
  readonly dataset: string;
  readonly task: string;
  readonly rows: number;
  readonly candidates: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly seconds: number;
  /** Peak resident set size of the row's process, in MB. */
  readonly peakMb: number;
  /** Seconds per phase (`read` counts for generated rows only). */
  readonly phases: { readonly read: number } & MatchResult['seconds'];
}

const peakMb = (): number => process.resourceUsage().maxRSS / 1024;

/** One labelled dataset, in this process. */
function runLabelled(name: string): Row {
  const ds = LABELLED[name]!();
  const t = performance.now();
  const result = matchRecords(ds.data);
  const seconds = (performance.now() - t) / 1000;
  const s = pairwiseScores(
    result.records.map((r) => ({ key: `${r.source}:${r.id}`, predicted: r.cluster, truth: ds.truth.get(r.id)!, source: r.source })),
    { link: ds.task === 'link' },
  );
  return { dataset: name, task: ds.task, rows: ds.rows, candidates: result.candidatePairs, precision: s.precision, recall: s.recall, f1: s.f1, seconds, peakMb: peakMb(), phases: { read: 0, ...result.seconds } };
}

/** The generated file as matcher inputs; the parsed table is garbage once this returns. */
function readInputs(csv: string): MatchInput[] {
  const table = readCsv(csv);
  return toMatchInputs(table, 'id', columnMapping(table, 'id', []));
}

/**
 * One generated file, in this process: read, match and score it. The file is read by the
 * matcher's source function, as `kith dedupe` does, so the raw rows are not kept.
 */
function runSynthetic(name: string, csv: string, truthFile: string): Row {
  const t = performance.now();
  let read = 0;
  let rows = 0;
  const result = matchRecords(() => {
    const inputs = readInputs(csv);
    read = (performance.now() - t) / 1000;
    rows = inputs.length;
    return inputs;
  });
  const seconds = (performance.now() - t) / 1000;
  const truth = new Map(readFileSync(truthFile, 'utf8').trim().split('\n').map((line) => line.split(',') as [string, string]));
  const s = pairwiseScores(result.records.map((r) => ({ key: r.id, predicted: r.cluster, truth: truth.get(r.id)!, source: 0 as const })), { link: false });
  return { dataset: name, task: 'dedupe', rows, candidates: result.candidatePairs, precision: s.precision, recall: s.recall, f1: s.f1, seconds, peakMb: peakMb(), phases: { read, ...result.seconds } };
}

const args = process.argv.slice(2);
const childAt = args.indexOf('--child');
if (childAt >= 0) {
  const [name, csv, truth] = args.slice(childAt + 1);
  const row = name! in LABELLED ? runLabelled(name!) : runSynthetic(name!, csv!, truth!);
  process.stdout.write(`${JSON.stringify(row)}\n`);
} else {
  const onlyAt = args.indexOf('--only');
  const all = [...Object.keys(LABELLED), ...Object.keys(SYNTHETIC)];
  const names = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',') : all.filter((n) => !(args.includes('--quick') && n === 'synthetic-1M'));
  for (const n of names) if (!all.includes(n)) throw new Error(`unknown dataset "${n}" (known: ${all.join(', ')})`);
  const dir = mkdtempSync(join(tmpdir(), 'kith-bench-match-'));
  const rows: Row[] = [];
  try {
    for (const name of names) {
      process.stderr.write(`${name}…\n`);
      const childArgs = [name];
      if (name in SYNTHETIC) {
        const people = syntheticPeople(SYNTHETIC[name]!, 1);
        const csv = join(dir, `${name}.csv`);
        const truth = join(dir, `${name}.truth.csv`);
        writeFileSync(csv, syntheticPeopleCsv(people));
        writeFileSync(truth, `${people.map((p) => `${p.id},${p.entity}`).join('\n')}\n`);
        childArgs.push(csv, truth);
      }
      // A heap large enough for a million records (about 3 GB live).
      const child = spawnSync(process.execPath, ['--max-old-space-size=8192', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...childArgs], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      if (child.status !== 0) throw new Error(`${name}: the benchmark process failed (exit ${child.status})`);
      rows.push(JSON.parse(child.stdout.trim().split('\n').pop()!) as Row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (n: number): string => n.toLocaleString('en-US');
  const printTable = (header: readonly string[], table: readonly (readonly string[])[]): void => {
    const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
    const line = (cells: readonly string[]): string => `| ${cells.map((c, k) => c.padEnd(widths[k]!)).join(' | ')} |`;
    process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}\n`);
  };
  printTable(
    ['dataset', 'task', 'rows', 'candidate pairs', 'precision', 'recall', 'F1', 'seconds', 'peak MB'],
    rows.map((r) => [r.dataset, r.task, fmt(r.rows), fmt(r.candidates), r.precision.toFixed(4), r.recall.toFixed(4), r.f1.toFixed(4), r.seconds.toFixed(2), fmt(Math.round(r.peakMb))]),
  );
  const phases = ['read', 'prepare', 'block', 'compare', 'train', 'score', 'cluster'] as const;
  printTable(
    ['dataset', ...phases.map((p) => `${p} s`)],
    rows.map((r) => [r.dataset, ...phases.map((p) => (p === 'read' && !(r.dataset in SYNTHETIC) ? '-' : r.phases[p].toFixed(2)))]),
  );
  const load = loadavg()[0]!.toFixed(2);
  process.stdout.write(
    `\nnode ${process.version}, ${new Date().toISOString()}, load average ${load} at the end; unsupervised (no labels in training), pairwise scores; ` +
      'FEBRL without soc_sec_id; generated rows timed from reading the CSV to the clusters; peak MB is the row process\'s maximum resident set size\n',
  );
}
