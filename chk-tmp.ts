import { matchRecords } from './src/match/match-records.ts';
import { syntheticPeople, syntheticPeopleCsv } from './bench/synthetic-people.ts';
import { writeFileSync } from 'node:fs';
import { columnMapping, readCsv, toMatchInputs } from './src/cli/csv-records.ts';
import { pairwiseScores } from './src/match/evaluate.ts';
const people = syntheticPeople(10000, 1);
writeFileSync('/tmp/sz/s10k.csv', syntheticPeopleCsv(people));
const t = readCsv('/tmp/sz/s10k.csv');
const inputs = toMatchInputs(t, 'id', columnMapping(t, 'id', []));
const truth = new Map(people.map((p) => [p.id, String(p.entity)]));
for (const sp of [1e-4, 1e-6]) {
  const r = matchRecords(inputs, { strangerProbability: sp });
  const s = pairwiseScores(r.records.map((x) => ({ key: x.id, predicted: x.cluster, truth: truth.get(x.id)!, source: 0 as const })), { link: false });
  console.log(sp, 'households', r.model.households, s.precision.toFixed(4), s.recall.toFixed(4), s.f1.toFixed(4), 'refused', r.refusedJoins);
}
