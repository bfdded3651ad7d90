import { matchRecords } from './src/match/match-records.ts';
import { compileModel, familyMembers, compareRecords, prepareFor } from './src/match/score.ts';
import { columnMapping, readCsv, toMatchInputs } from './src/cli/csv-records.ts';
import { syntheticPeople } from './bench/synthetic-people.ts';
const people = syntheticPeople(10000, 1);
const truth = new Map(people.map((p) => [p.id, String(p.entity)]));
const t = readCsv('/tmp/sz/s10k.csv');
const inputs = toMatchInputs(t, 'id', columnMapping(t, 'id', []));
const r = matchRecords(inputs);
const c = compileModel(r.model);
const byE = new Map<string, typeof inputs>();
for (const x of inputs) { const e = truth.get(x.id)!; if (!byE.has(e)) byE.set(e, []); byE.get(e)!.push(x); }
let n = 0, fam = 0; const row = new Uint8Array(c.kinds.length); const hist: Record<string, number> = {};
for (const g of byE.values()) for (let i = 0; i < g.length; i++) for (let j = i + 1; j < g.length; j++) {
  compareRecords(c, prepareFor(r.model, g[i]!), prepareFor(r.model, g[j]!), row, 0);
  n++;
  if (familyMembers(c, row, 0)) { fam++; const k = `fn${row[c.firstName]} bd${row[c.birthday]}`; hist[k] = (hist[k] ?? 0) + 1; if (fam < 6) console.log(JSON.stringify(g[i]!.values), '\n', JSON.stringify(g[j]!.values)); }
}
console.log('true pairs', n, 'family-member pairs', fam, hist);
