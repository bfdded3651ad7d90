/**
 * The labelled record-linkage datasets in `../shared/datasets/` (see its README), loaded the way
 * `kith dedupe`/`kith link` load a CSV: the same reader, the same column mapping. Used by
 * `bench/match.ts` and by the accuracy test. The files are read in place, never copied.
 *
 * FEBRL's `soc_sec_id` is left out on purpose: it is a near-unique identifier (matching on it
 * alone gets most pairs), so using it would measure the id, not the matcher.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { columnMapping, readCsv, toMatchInputs, type CsvTable } from '../src/cli/csv-records.ts';
import type { MatchInput } from '../src/match/attributes.ts';
import type { MatchData } from '../src/match/match-session.ts';

export const DATASETS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'datasets');

export interface LabelledDataset {
  readonly name: string;
  readonly task: 'dedupe' | 'link';
  readonly data: MatchData;
  readonly rows: number;
  /** Record id → true entity. */
  readonly truth: ReadonlyMap<string, string>;
}

const FEBRL_MAP = [
  'given_name=firstName',
  'surname=lastName',
  'street_number=streetNumber',
  'address_1=street',
  'address_2=text:address_2',
  'suburb=city',
  'postcode=postalCode',
  'state=state',
  'date_of_birth=birthday',
];

function load(path: string, id: string, maps: readonly string[]): { table: CsvTable; inputs: MatchInput[] } {
  const table = readCsv(path);
  return { table, inputs: toMatchInputs(table, id, columnMapping(table, id, maps)) };
}

/** FEBRL ids are `rec-<N>-org` / `rec-<N>-dup-<k>`: the entity is N. */
function febrlTruth(inputs: readonly MatchInput[], truth: Map<string, string>): void {
  for (const r of inputs) truth.set(r.id, r.id.replace(/^rec-(\d+)-.*$/, '$1'));
}

export function febrl(n: 1 | 2 | 3): LabelledDataset {
  const { inputs } = load(join(DATASETS_DIR, 'febrl', `dataset${n}.csv`), 'rec_id', FEBRL_MAP);
  const truth = new Map<string, string>();
  febrlTruth(inputs, truth);
  return { name: `febrl${n}`, task: 'dedupe', data: inputs, rows: inputs.length, truth };
}

export function febrl4(): LabelledDataset {
  const left = load(join(DATASETS_DIR, 'febrl', 'dataset4a.csv'), 'rec_id', FEBRL_MAP).inputs;
  const right = load(join(DATASETS_DIR, 'febrl', 'dataset4b.csv'), 'rec_id', FEBRL_MAP).inputs;
  const truth = new Map<string, string>();
  febrlTruth(left, truth);
  febrlTruth(right, truth);
  return { name: 'febrl4', task: 'link', data: { left, right }, rows: left.length + right.length, truth };
}

export function fake1000(): LabelledDataset {
  const { table, inputs } = load(join(DATASETS_DIR, 'splink_fake_1000', 'fake_1000.csv'), 'unique_id', ['first_name=firstName', 'surname=lastName', 'dob=birthday', 'city=city', 'email=email', 'cluster=skip']);
  const idIndex = table.header.indexOf('unique_id');
  const clusterIndex = table.header.indexOf('cluster');
  const truth = new Map(table.rows.map((row) => [row[idIndex]!, row[clusterIndex]!] as const));
  return { name: 'fake_1000', task: 'dedupe', data: inputs, rows: inputs.length, truth };
}

/** RLdata has no id column: the id is the row number, and the truth file lists entities in row order. */
export function rldata(size: 500 | 10000): LabelledDataset {
  const table = readCsv(join(DATASETS_DIR, 'rldata', `RLdata${size}.tsv`));
  const mapping = columnMapping({ ...table, header: ['row', ...table.header] }, 'row', [
    'fname_c1=firstName',
    'fname_c2=middleName',
    'lname_c1=lastName',
    'lname_c2=lastName',
    'by=birthYear',
    'bm=birthMonth',
    'bd=birthDay',
  ]);
  const numbered = { ...table, header: ['row', ...table.header], rows: table.rows.map((r, i) => [String(i + 1), ...r]) };
  const inputs = toMatchInputs(numbered, 'row', mapping);
  const identity = readCsv(join(DATASETS_DIR, 'rldata', `identity.RLdata${size}.tsv`)).rows;
  const truth = new Map(inputs.map((r, i) => [r.id, identity[i]![0]!] as const));
  return { name: `RLdata${size}`, task: 'dedupe', data: inputs, rows: inputs.length, truth };
}

/**
 * The Senzing truth set: three sources (customers, watchlist, reference) deduplicated together,
 * as one list, since the same person can be in any of them, twice in one of them too. Record ids
 * are `SOURCE:RECORD_ID`. Every column that says who someone is, is mapped: names (a name in its
 * own script as a full name, used where the record has no Latin one), organisation names (primary
 * and secondary), the employer, identity documents (each an identifier of its own), addresses,
 * phones, emails, birth dates, gender. Record dates, amounts, statuses and disclosed relationships
 * are not.
 */
export function senzing(): LabelledDataset {
  const inputs: MatchInput[] = [];
  for (const file of ['customers', 'watchlist', 'reference']) {
    const table = readCsv(join(DATASETS_DIR, 'senzing_truthset', `${file}.csv`));
    const maps = [
      'NATIVE_NAME_FULL=fullName',
      'PRIMARY_NAME_ORG=text:organisation',
      'SECONDARY_NAME_ORG=text:organisation',
      'EMPLOYER=text:employer',
      'PASSPORT_NUMBER=id:passport',
      'DRIVERS_LICENSE_NUMBER=id:drivers_licence',
      'SSN_NUMBER=nationalId',
      'NATIONAL_ID_NUMBER=id:national_id',
      'TAX_ID_NUMBER=id:tax_id',
      'LEI_NUMBER=id:lei',
    ].filter((m) => table.header.includes(m.slice(0, m.indexOf('='))));
    const source = table.header.indexOf('DATA_SOURCE');
    const keyed = { ...table, header: ['key', ...table.header], rows: table.rows.map((r) => [`${r[source]}:${r[table.header.indexOf('RECORD_ID')]}`, ...r]) };
    inputs.push(...toMatchInputs(keyed, 'key', columnMapping(keyed, 'key', maps)));
  }
  const key = readCsv(join(DATASETS_DIR, 'senzing_truthset', 'actual_truthset_key.csv'));
  const at = (name: string): number => key.header.indexOf(name);
  const truth = new Map(key.rows.map((r) => [`${r[at('DATA_SOURCE')]}:${r[at('RECORD_ID')]}`, r[at('CLUSTER_ID')]!] as const));
  return { name: 'senzing', task: 'dedupe', data: inputs, rows: inputs.length, truth };
}

/** Every labelled dataset by the name the benchmarks print and take on their command lines. */
export const LABELLED_DATASETS: Readonly<Record<string, () => LabelledDataset>> = {
  febrl1: () => febrl(1),
  febrl2: () => febrl(2),
  febrl3: () => febrl(3),
  febrl4,
  fake_1000: fake1000,
  RLdata500: () => rldata(500),
  RLdata10000: () => rldata(10000),
  senzing,
};
