import type { Command } from 'commander';
import { configureMatching, trainWorkspaceModel } from '../identity/match-configure.ts';
import { matchingOf } from '../identity/match-settings.ts';
import { rescoreWorkspace, type RescoreSummary } from '../identity/match-workspace.ts';
import { CliError } from './cli-error.ts';
import { dbOption, jsonArgument, requireWorkspace, withApp, workspaceOption } from './common.ts';
import { matchProgress } from './match-progress.ts';

function summary(r: RescoreSummary): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  return `${n(r.records)} personal records, ${n(r.pairsCompared)} pairs compared: ${n(r.linked)} linked, ${n(r.queued)} queued for review, ${n(r.withdrawn)} withdrawn; ${n(r.merges)} merges, ${n(r.splits)} splits`;
}

/**
 * `kith match train|run|settings`: probabilistic matching in a workspace's identity graph. Train a
 * model from the workspace's own personal records, score the whole workspace, read or change the
 * settings (thresholds, trait mapping, model).
 */
export function registerMatch(program: Command): void {
  const match = program.command('match').description("probabilistic matching in a workspace's identity graph: train, run, settings");
  match
    .command('train')
    .description("estimate a model from the workspace's personal records (unsupervised), store it as a new version, use it and re-score")
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--seed <n>', 'seed of the random-pair sampler (same data and seed, same model)', (v) => Number.parseInt(v, 10))
    .option('--json', 'print JSON')
    .action(async (opts: { db?: string; workspace: string; seed?: number; json?: boolean }) => {
      if (opts.seed !== undefined && !Number.isInteger(opts.seed)) throw new CliError('--seed must be an integer');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const progress = matchProgress(process.stderr);
        const outcome = await trainWorkspaceModel(app.store, ws, {
          now: app.now(),
          ...(opts.seed === undefined ? {} : { seed: opts.seed }),
          onProgress: progress.report,
          onStage: (stage) => {
            if (!process.stderr.isTTY) process.stderr.write(`match: ${stage}…\n`);
          },
        });
        progress.finish();
        if (!outcome.ok) throw new CliError(outcome.message);
        const m = outcome.model;
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ model: { version: m.version, trainedAt: m.trainedAt, lambda: m.lambda, attributes: m.comparisons.map((c) => c.attribute), training: m.training }, records: outcome.records, rescored: outcome.rescored }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          [
            `trained model ${m.version} on ${outcome.records.toLocaleString('en-US')} personal records (attributes: ${m.comparisons.map((c) => c.attribute).join(', ')})`,
            `prior match probability λ = ${m.lambda.toExponential(3)}; EM sessions: ${m.training.emSessions.map((s) => `${s.rule} (${s.pairs} pairs, ${s.converged ? 'converged' : 'not converged'})`).join('; ')}`,
            `workspace "${ws.name}" now uses it: ${summary(outcome.rescored)}`,
          ].join('\n') + '\n',
        );
      });
    });
  match
    .command('run')
    .description('score the whole workspace with its model: rebuild records and blocking keys, link, queue and withdraw pairs, re-resolve')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--json', 'print the summary as JSON')
    .action(async (opts: { db?: string; workspace: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const settings = matchingOf(ws.rules);
        if (settings.model === null) throw new CliError(`workspace "${ws.name}" has no model yet: run kith match train (or supply one with kith match settings set)`);
        const progress = matchProgress(process.stderr);
        const result = await rescoreWorkspace(app.store, ws, { now: app.now(), onProgress: progress.report });
        progress.finish();
        process.stdout.write(opts.json === true ? `${JSON.stringify(result, null, 2)}\n` : `${summary(result)}${settings.enabled ? '' : ' (matching is disabled: machine-made links were withdrawn)'}\n`);
      });
    });
  const settings = match.command('settings').description('read or change the matching settings');
  settings
    .command('get')
    .description('print the settings (defaults filled in) as JSON')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (opts: { db?: string; workspace: string }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const models = await app.store.read.match.listModels(ws.id);
        process.stdout.write(`${JSON.stringify({ matching: matchingOf(ws.rules), configured: ws.rules.matching !== undefined, models: models.map((m) => m.version) }, null, 2)}\n`);
      });
    });
  settings
    .command('set')
    .description('change settings (a JSON document or @file.json merged over the current ones; "model" may be a whole model document) and re-score')
    .argument('<json>', 'e.g. \'{"autoLink":0.995,"review":0.7}\' or @settings.json')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (text: string, opts: { db?: string; workspace: string }) => {
      const raw = jsonArgument(text, 'settings');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const progress = matchProgress(process.stderr);
        const outcome = await configureMatching(app.store, ws, raw, { now: app.now(), onProgress: progress.report });
        progress.finish();
        if (!outcome.ok) throw new CliError(`invalid matching settings${outcome.field === '' ? '' : ` at ${outcome.field}`}: ${outcome.message}`);
        process.stdout.write(`${JSON.stringify(outcome.settings, null, 2)}\n`);
        if (outcome.rescored !== null) process.stderr.write(`re-scored: ${summary(outcome.rescored)}\n`);
      });
    });
}
