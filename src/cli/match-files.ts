import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Option, type Command } from 'commander';
import type { MatchInput } from '../match/attributes.ts';
import { pairwiseScores, type PairwiseScores } from '../match/evaluate.ts';
import { matchRecords, type MatchResult } from '../match/match-records.ts';
import type { MatchSource } from '../match/match-session.ts';
import { parseModel, type Model } from '../match/model.ts';
import type { Labels } from '../match/train.ts';
import { CliError } from './cli-error.ts';
import { columnMapping, csvField, readCsv, toMatchInputs } from './csv-records.ts';

/** Options shared by `kith dedupe` and `kith link`. */
export interface MatchFileOptions {
  readonly id: string;
  readonly map: readonly string[];
  readonly out?: string;
  readonly labels?: string;
  readonly trainLabels?: string;
  readonly threshold?: string;
  readonly dateOrder: 'mdy' | 'dmy';
  readonly model?: string;
  readonly saveModel?: string;
  /** `kith link` only: each record joins at most one record of the other file (default true). */
  readonly oneToOne?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Adds the options both commands take. */
export function addMatchFileOptions(command: Command): Command {
  return command
    .requiredOption('--id <column>', 'the column holding each record\'s id (unique within its file)')
    .option('--map <column=attribute>', 'use COLUMN as ATTRIBUTE (repeatable; ATTRIBUTE "skip" ignores a column); columns named like attributes (first_name, surname, dob, zip, …) are used without it', collect, [])
    .option('--out <file>', 'write the id,cluster CSV here (default: standard output)')
    .option('--labels <file>', 'a truth file (id,cluster): print pairwise precision, recall and F1 against it')
    .option('--train-labels <file>', 'train from known matches instead of unsupervised (id,cluster, or labelled pairs X_l,X_r,match)')
    .option('--threshold <p>', 'match probability at and above which records are linked (default 0.5)')
    .addOption(new Option('--date-order <order>', 'how to read dates like 03/04/1990').choices(['mdy', 'dmy']).default('mdy'))
    .option('--model <file>', 'score with a model saved by --save-model instead of training')
    .option('--save-model <file>', 'save the trained model (JSON) to this file');
}

function parseThreshold(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Number(raw);
  if (!(t > 0 && t < 1)) throw new CliError(`--threshold must be a probability between 0 and 1 (exclusive), got "${raw}"`);
  return t;
}

/** Reads a file's records with the command's id column and mapping. */
export function loadRecords(path: string, opts: MatchFileOptions): { inputs: MatchInput[]; mapping: string } {
  const table = readCsv(path);
  const mapping = columnMapping(table, opts.id, opts.map);
  return { inputs: toMatchInputs(table, opts.id, mapping), mapping: mapping.description };
}

/**
 * Reads labels: `id,cluster` (the truth file format) or labelled pairs with columns `X_l`, `X_r`
 * and a match column (`clerical_match_score`, `match`, `is_match` or `label`; 1/true = match).
 */
export function readLabels(path: string): Labels {
  const table = readCsv(path);
  const h = table.header.map((x) => x.toLowerCase());
  const clusterAt = h.indexOf('cluster');
  if (clusterAt >= 0) {
    const idAt = h.indexOf('id') >= 0 ? h.indexOf('id') : clusterAt === 0 ? 1 : 0;
    const clusters = new Map<string, string>();
    for (const row of table.rows) {
      const id = row[idAt];
      const cluster = row[clusterAt];
      if (id !== undefined && id !== '' && cluster !== undefined && cluster !== '') clusters.set(id, cluster);
    }
    return { clusters };
  }
  const left = h.findIndex((x) => x.endsWith('_l') && h.includes(`${x.slice(0, -2)}_r`) && !x.startsWith('source'));
  const matchAt = h.findIndex((x) => ['clerical_match_score', 'match', 'is_match', 'label'].includes(x));
  if (left < 0 || matchAt < 0) throw new CliError(`${path}: labels need columns id,cluster or X_l,X_r and a match column (clerical_match_score, match, is_match or label)`);
  const right = h.indexOf(`${h[left]!.slice(0, -2)}_r`);
  const pairs = table.rows.map((row) => {
    const v = (row[matchAt] ?? '').toLowerCase();
    return { a: row[left] ?? '', b: row[right] ?? '', match: v === 'true' || v === 'yes' || Number(v) >= 0.5 };
  });
  return { pairs };
}

function readModel(path: string): Model {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new CliError(`${path}: not a readable JSON model (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
  try {
    return parseModel(json);
  } catch (err) {
    throw new CliError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * Trains (or loads) a model, matches, writes `id,cluster` and prints a summary on stderr.
 * `source` reads the files when matching starts (see `MatchSource`) and fills in `mappings`.
 */
export function runMatch(command: 'dedupe' | 'link', source: MatchSource, files: readonly string[], mappings: readonly string[], opts: MatchFileOptions): MatchResult {
  const started = performance.now();
  const threshold = parseThreshold(opts.threshold);
  const trainLabels = opts.trainLabels === undefined ? undefined : readLabels(opts.trainLabels);
  const given = opts.model === undefined ? undefined : readModel(opts.model);
  const model = given !== undefined && threshold !== undefined ? parseModel({ ...given, threshold }) : given;
  let result: MatchResult;
  try {
    result = matchRecords(source, {
      dateOrder: opts.dateOrder,
      ...(threshold === undefined ? {} : { threshold }),
      ...(trainLabels === undefined ? {} : { labels: trainLabels }),
      ...(model === undefined ? {} : { model }),
      ...(opts.oneToOne === undefined ? {} : { oneToOne: opts.oneToOne }),
    });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
  const lines = ['id,cluster', ...result.records.map((r) => `${csvField(r.id)},${csvField(r.cluster)}`)];
  const csv = `${lines.join('\n')}\n`;
  if (opts.out === undefined) process.stdout.write(csv);
  else writeFileSync(opts.out, csv);
  if (opts.saveModel !== undefined) writeFileSync(opts.saveModel, `${JSON.stringify(result.model, null, 2)}\n`);

  const m = result.model;
  const err = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const sizes = new Map<string, number>();
  for (const r of result.records) sizes.set(r.cluster, (sizes.get(r.cluster) ?? 0) + 1);
  const grouped = [...sizes.values()].filter((n) => n > 1);
  const perFile = files.map((_, i) => result.records.filter((r) => r.source === i).length);
  err(`kith ${command}: ${files.map((f, i) => `${basename(f)} (${fmt(perFile[i]!)} records)`).join(' + ')}`);
  mappings.forEach((mapping, i) => err(`  columns${files.length > 1 ? ` of ${basename(files[i]!)}` : ''}: ${mapping}`));
  err(`  compared: ${m.comparisons.map((c) => c.attribute).join(', ')}`);
  err(`  blocking: ${m.blocking.length} rules → ${fmt(result.candidatePairs)} candidate pairs${result.blocking.oversizedBlocks > 0 ? ` (${fmt(result.blocking.oversizedBlocks)} blocks skipped as too large or over a rule's pair budget)` : ''}`);
  const em = m.training.emSessions;
  const trained = given !== undefined ? `loaded from ${opts.model}` : m.training.supervised ? `trained from labels ${opts.trainLabels}` : `trained unsupervised (EM ${em.every((s) => s.converged) ? 'converged' : 'stopped at its iteration limit'})`;
  err(`  model ${m.version}: ${trained}; λ = ${m.lambda.toExponential(2)}; threshold ${m.threshold}`);
  const refusals = result.oneToOne ? 'pairs left out because a record was already linked (one-to-one)' : 'joins refused as chaining strangers';
  err(`  ${fmt(result.pairsAboveThreshold)} pairs at or above the threshold${result.refusedJoins > 0 ? `, ${fmt(result.refusedJoins)} ${refusals}` : ''}`);
  err(`  ${fmt(result.clusters)} clusters, ${fmt(grouped.length)} with more than one record (largest ${Math.max(1, ...grouped)})`);
  if (opts.labels !== undefined) {
    const labels = readLabels(opts.labels);
    if (labels.clusters === undefined) throw new CliError(`${opts.labels}: --labels needs an id,cluster file`);
    const scores = evaluateAgainst(result, labels.clusters, command === 'link');
    err(`  against ${basename(opts.labels)}: precision ${scores.precision.toFixed(4)}, recall ${scores.recall.toFixed(4)}, F1 ${scores.f1.toFixed(4)} (${fmt(scores.truePairs)} true pairs, ${fmt(scores.predictedPairs)} predicted)`);
  }
  if (opts.saveModel !== undefined) err(`  model saved to ${opts.saveModel}`);
  err(`  wrote ${fmt(result.records.length)} rows (id,cluster) to ${opts.out ?? 'standard output'} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return result;
}

/** Pairwise scores of a result against a truth file; records the truth does not list are singletons. */
function evaluateAgainst(result: MatchResult, truth: ReadonlyMap<string, string>, link: boolean): PairwiseScores {
  const missing = result.records.filter((r) => !truth.has(r.id)).length;
  if (missing === result.records.length) throw new CliError('--labels: none of the ids is in the labels file (is the id column right?)');
  return pairwiseScores(
    result.records.map((r) => ({ key: `${r.source}:${r.id}`, predicted: r.cluster, truth: truth.get(r.id) ?? `\u0000only:${r.source}:${r.id}`, source: r.source })),
    { link },
  );
}
