import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DATASETS_DIR, fake1000, febrl, febrl4, rldata, type LabelledDataset } from '../bench/match-datasets.ts';
import { pairwiseScores } from '../src/match/evaluate.ts';
import { matchRecords } from '../src/match/match-records.ts';

/**
 * Accuracy of unsupervised matching on the labelled datasets in ../shared/datasets (read in place):
 * pairwise precision, recall and F1 must stay at what was measured, less a margin. No labels are
 * used in training. The figures measured when these floors were set are in the comments.
 */

function score(ds: LabelledDataset) {
  const result = matchRecords(ds.data);
  return pairwiseScores(
    result.records.map((r) => ({ key: `${r.source}:${r.id}`, predicted: r.cluster, truth: ds.truth.get(r.id)!, source: r.source })),
    { link: ds.task === 'link' },
  );
}

describe('matching accuracy on labelled datasets (unsupervised)', () => {
  const cases: [string, () => LabelledDataset, { precision: number; recall: number; f1: number }][] = [
    // measured P 1.0000, R 1.0000, F1 1.0000
    ['FEBRL1 (dedupe, 1,000 rows)', () => febrl(1), { precision: 0.995, recall: 0.99, f1: 0.995 }],
    // measured P 1.0000, R 1.0000, F1 1.0000
    ['FEBRL2 (dedupe, 5,000 rows)', () => febrl(2), { precision: 0.995, recall: 0.99, f1: 0.995 }],
    // measured P 1.0000, R 0.9988, F1 0.9994
    ['FEBRL3 (dedupe, 5,000 rows)', () => febrl(3), { precision: 0.995, recall: 0.99, f1: 0.995 }],
    // measured P 0.9996, R 0.9978, F1 0.9987
    ['FEBRL4 (link, 5,000 × 5,000 rows)', febrl4, { precision: 0.995, recall: 0.99, f1: 0.995 }],
    // measured P 0.9955, R 0.8744, F1 0.9311
    ['splink fake_1000 (dedupe, 1,000 rows)', fake1000, { precision: 0.97, recall: 0.84, f1: 0.90 }],
    // measured P 0.9817, R 0.9680, F1 0.9748
    ['RLdata10000 (dedupe, 10,000 rows)', () => rldata(10000), { precision: 0.96, recall: 0.95, f1: 0.96 }],
  ];
  for (const [name, load, floor] of cases) {
    it(name, () => {
      const s = score(load());
      expect(s.precision, 'precision').toBeGreaterThanOrEqual(floor.precision);
      expect(s.recall, 'recall').toBeGreaterThanOrEqual(floor.recall);
      expect(s.f1, 'F1').toBeGreaterThanOrEqual(floor.f1);
    });
  }
});

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kith.js');

describe('kith dedupe / kith link on files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kith-match-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000, cwd: dir });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const febrlMap = ['--map', 'address_1=street', '--map', 'address_2=text:address_2', '--map', 'street_number=streetNumber', '--map', 'soc_sec_id=skip'];

  it('dedupe writes id,cluster for every record and scores itself against a truth file', () => {
    const file = join(DATASETS_DIR, 'febrl', 'dataset1.csv');
    const truth = join(dir, 'truth1.csv');
    const ids = readFileSync(file, 'utf8').split('\n').slice(1).filter((l) => l.trim() !== '').map((l) => l.split(',')[0]!.trim());
    writeFileSync(truth, `id,cluster\n${ids.map((id) => `${id},${id.replace(/^rec-(\d+)-.*$/, '$1')}`).join('\n')}\n`);
    const out = join(dir, 'clusters1.csv');
    const model = join(dir, 'model.json');
    const r = run(['dedupe', file, '--id', 'rec_id', ...febrlMap, '--out', out, '--labels', truth, '--save-model', model]);
    expect(r.stderr).toMatch(/kith dedupe: dataset1\.csv \(1,000 records\)/);
    expect(r.code, r.stderr).toBe(0);
    const rows = readFileSync(out, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('id,cluster');
    expect(rows).toHaveLength(1001);
    const clusterOf = new Map(rows.slice(1).map((l) => l.split(',') as [string, string]));
    expect(clusterOf.get('rec-122-org')).toBe(clusterOf.get('rec-122-dup-0'));
    expect(clusterOf.get('rec-122-org')).not.toBe(clusterOf.get('rec-223-org'));
    const f1 = Number(/F1 ([0-9.]+)/.exec(r.stderr)?.[1]);
    expect(f1).toBeGreaterThanOrEqual(0.995);
    // The saved model scores the file again without training, to the same clusters.
    const again = run(['dedupe', file, '--id', 'rec_id', ...febrlMap, '--model', model]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual(rows);
    expect(again.stderr).toMatch(/loaded from/);
  });

  it('link matches across two files only', () => {
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    writeFileSync(a, 'id,first_name,surname,dob,city\n1,Robert,Smith,1978-12-11,Las Vegas\n2,Maria,Garcia,1985-03-02,Reno\n3,Robert,Smith,1978-12-11,Las Vegas\n');
    writeFileSync(b, 'id,first_name,surname,dob,city\nx,Bob,Smith,11/12/1978,Las Vegas\ny,Chen,Wei,1990-07-07,Boston\n');
    const r = run(['link', a, b, '--id', 'id', '--date-order', 'mdy']);
    expect(r.code, r.stderr).toBe(0);
    const clusterOf = new Map(r.stdout.trim().split('\n').slice(1).map((l) => l.split(',') as [string, string]));
    expect(clusterOf.size).toBe(5);
    expect(clusterOf.get('x')).toBe('1');
    expect(clusterOf.get('y')).toBe('y');
    expect(clusterOf.get('2')).toBe('2');
    expect(r.stderr).toMatch(/kith link: a\.csv \(3 records\) \+ b\.csv \(2 records\)/);
  });

  it('answers bad input with one line and a non-zero exit', () => {
    const file = join(DATASETS_DIR, 'febrl', 'dataset1.csv');
    const cases: [string[], RegExp][] = [
      [['dedupe', file, '--id', 'nope'], /no column "nope"/],
      [['dedupe', file, '--id', 'rec_id', '--map', 'surname=shoeSize'], /unknown attribute "shoeSize"/],
      [['dedupe', file, '--id', 'rec_id', '--map', 'surname'], /--map takes COLUMN=ATTRIBUTE/],
      [['dedupe', join(dir, 'missing.csv'), '--id', 'id'], /no such file/],
      [['dedupe', file, '--id', 'rec_id', '--threshold', '2'], /--threshold must be a probability/],
      [['dedupe', file], /required option '--id <column>'/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
