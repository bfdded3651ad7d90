/**
 * `node --import tsx bench/match.ts`: unsupervised matching accuracy and time on the labelled
 * datasets in ../shared/datasets (see bench/match-datasets.ts), as a table: rows, candidate pairs
 * from blocking, pairwise precision, recall and F1 against the truth, and seconds end to end
 * (prepare, block, train, score, cluster; reading the files is not counted).
 * `--only febrl3,RLdata10000` runs a subset.
 */
import { fake1000, febrl, febrl4, rldata, type LabelledDataset } from './match-datasets.ts';
import { pairwiseScores } from '../src/match/evaluate.ts';
import { matchRecords } from '../src/match/match-records.ts';

const DATASETS: Record<string, () => LabelledDataset> = {
  febrl1: () => febrl(1),
  febrl2: () => febrl(2),
  febrl3: () => febrl(3),
  febrl4,
  fake_1000: fake1000,
  RLdata500: () => rldata(500),
  RLdata10000: () => rldata(10000),
};

const i = process.argv.indexOf('--only');
const names = i >= 0 ? (process.argv[i + 1] ?? '').split(',') : Object.keys(DATASETS);
for (const n of names) if (!(n in DATASETS)) throw new Error(`unknown dataset "${n}" (known: ${Object.keys(DATASETS).join(', ')})`);

interface Row {
  readonly dataset: string;
  readonly task: string;
  readonly rows: number;
  readonly candidates: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly seconds: number;
}

const rows: Row[] = [];
for (const name of names) {
  const ds = DATASETS[name]!();
  process.stderr.write(`${name}…\n`);
  const t = performance.now();
  const result = matchRecords(ds.data);
  const seconds = (performance.now() - t) / 1000;
  const s = pairwiseScores(
    result.records.map((r) => ({ key: `${r.source}:${r.id}`, predicted: r.cluster, truth: ds.truth.get(r.id)!, source: r.source })),
    { link: ds.task === 'link' },
  );
  rows.push({ dataset: name, task: ds.task, rows: ds.rows, candidates: result.candidatePairs, precision: s.precision, recall: s.recall, f1: s.f1, seconds });
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const header = ['dataset', 'task', 'rows', 'candidate pairs', 'precision', 'recall', 'F1', 'seconds'];
const table = rows.map((r) => [r.dataset, r.task, fmt(r.rows), fmt(r.candidates), r.precision.toFixed(4), r.recall.toFixed(4), r.f1.toFixed(4), r.seconds.toFixed(2)]);
const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
const line = (cells: readonly string[]): string => `| ${cells.map((c, k) => c.padEnd(widths[k]!)).join(' | ')} |`;
process.stdout.write(`\n${line(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${table.map(line).join('\n')}\n`);
process.stdout.write(`\nnode ${process.version}, ${new Date().toISOString()}; unsupervised (no labels in training), pairwise scores; FEBRL without soc_sec_id\n`);
