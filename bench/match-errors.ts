/**
 * `node --import tsx bench/match-errors.ts DATASET`: the pairwise errors of the unsupervised
 * matcher on one labelled dataset (see bench/match-datasets.ts), for reading, not for scoring.
 * Each false positive (predicted together, truly apart) and false negative (truly together,
 * predicted apart) is printed with both records' values side by side, the pair's match weight
 * and each attribute's level and weight. A pair's weight is its own; a false positive with a low
 * weight was joined through a chain of other records.
 */
import { matchRecords } from '../src/match/match-records.ts';
import { scorePair } from '../src/match/score.ts';
import type { MatchInput } from '../src/match/attributes.ts';
import { LABELLED_DATASETS } from './match-datasets.ts';

const DATASETS = LABELLED_DATASETS;

const name = process.argv[2] ?? 'senzing';
const limit = Number(process.argv[3] ?? 200);
const ds = DATASETS[name]?.();
if (ds === undefined) throw new Error(`unknown dataset "${name}" (known: ${Object.keys(DATASETS).join(', ')})`);
const files = Array.isArray(ds.data) ? undefined : (ds.data as { readonly left: readonly MatchInput[]; readonly right: readonly MatchInput[] });
const inputs: MatchInput[] = files === undefined ? [...(ds.data as readonly MatchInput[])] : [...files.left, ...files.right];
const result = matchRecords(ds.data);
const predicted = new Map(result.records.map((r) => [r.id, r.cluster] as const));

function show(kind: string, a: MatchInput, b: MatchInput): void {
  const s = scorePair(result.model, a, b);
  process.stdout.write(`\n${kind}  ${a.id}  ~  ${b.id}   weight ${s.weight.toFixed(2)}  p ${s.probability.toFixed(3)}\n`);
  const keys = [...new Set([...Object.keys(a.values), ...Object.keys(b.values)])];
  for (const k of keys) {
    const x = (a.values as Record<string, string>)[k] ?? '';
    const y = (b.values as Record<string, string>)[k] ?? '';
    process.stdout.write(`    ${k.padEnd(22)} ${x.slice(0, 38).padEnd(40)} ${y.slice(0, 38)}\n`);
  }
  const parts = s.attributes.filter((x) => x.level !== null).map((x) => `${x.attribute}:${x.level}=${x.weight.toFixed(1)}`);
  process.stdout.write(`    weights: prior ${s.prior.toFixed(1)}  ${parts.join('  ')}\n`);
}

let fp = 0;
let fn = 0;
for (let i = 0; i < inputs.length; i++) {
  for (let j = i + 1; j < inputs.length; j++) {
    const a = inputs[i]!;
    const b = inputs[j]!;
    if (files !== undefined && i < files.left.length === j < files.left.length) continue;
    const same = ds.truth.get(a.id) === ds.truth.get(b.id);
    const together = predicted.get(a.id) === predicted.get(b.id);
    if (same === together) continue;
    if (together) fp++;
    else fn++;
    if (fp + fn <= limit) show(together ? 'FP' : 'FN', a, b);
  }
}
process.stdout.write(`\n${fp} false positives, ${fn} false negatives; model λ ${result.model.lambda.toExponential(2)}\n`);
