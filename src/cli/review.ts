import type { Command } from 'commander';
import { decideReview, describePairs, type PairView, type ReviewDecision } from '../identity/match-review.ts';
import type { PairStatus } from '../store/match-ports.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

const STATUSES = ['review', 'linked', 'accepted', 'rejected', 'all'];

function show(p: PairView): string {
  const values = (r: Record<string, string>): string => Object.entries(r).map(([k, v]) => `${k}=${v}`).join(', ') || '(no record)';
  const weights = (p.attributes as Array<{ attribute: string; label: string | null; weight: number }>)
    .filter((a) => a.label !== null)
    .map((a) => `${a.attribute} ${a.label} ${a.weight >= 0 ? '+' : ''}${a.weight.toFixed(1)}`)
    .join('; ');
  return [
    `${p.id}  ${p.status}  probability ${p.probability.toFixed(4)}  (weight ${p.weight.toFixed(2)}, model ${p.model_version})`,
    `  ${p.a}: ${values(p.records.a)}`,
    `  ${p.b}: ${values(p.records.b)}`,
    `  ${weights}`,
    `  profiles: ${p.profiles.a ?? '-'} / ${p.profiles.b ?? '-'}${p.profiles.a !== null && p.profiles.a === p.profiles.b ? ' (together)' : ''}`,
  ].join('\n');
}

/** `kith review list|accept|reject`: the queue of pairs scored between the review and auto-link thresholds. */
export function registerReview(program: Command): void {
  const review = program.command('review').description('the review queue of probabilistic matches: list, accept, reject');
  review
    .command('list')
    .description('pairs waiting for review (or of another status), a page at a time in pair id order')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--status <status>', `one of ${STATUSES.join(', ')}`, 'review')
    .option('--limit <n>', 'at most this many (1-1000)', (v) => Number.parseInt(v, 10), 50)
    .option('--after <id>', 'continue after this pair id (paging)')
    .option('--json', 'print JSON')
    .action(async (opts: { db?: string; workspace: string; status: string; limit: number; after?: string; json?: boolean }) => {
      if (!STATUSES.includes(opts.status)) throw new CliError(`--status must be one of ${STATUSES.join(', ')}`);
      if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > 1000) throw new CliError('--limit must be an integer from 1 to 1000');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const pairs = await app.store.read.match.listPairs(ws.id, { status: opts.status === 'all' ? null : (opts.status as PairStatus), afterId: opts.after ?? null, limit: opts.limit });
        const views = await describePairs(app.store.read, ws, pairs);
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ data: views, next: pairs.length === opts.limit ? pairs[pairs.length - 1]!.id : null }, null, 2)}\n`);
          return;
        }
        if (views.length === 0) {
          process.stdout.write(`no pairs with status ${opts.status}\n`);
          return;
        }
        process.stdout.write(`${views.map(show).join('\n\n')}\n`);
        if (pairs.length === opts.limit) process.stdout.write(`\nmore: kith review list --after ${pairs[pairs.length - 1]!.id}\n`);
      });
    });
  for (const decision of ['accept', 'reject'] as const) {
    review
      .command(decision)
      .description(decision === 'accept' ? 'link the pair (evidence of kind manual) and re-resolve' : 'record that the two must never be linked, and re-resolve')
      .argument('<id>', 'pair id (mp_...) from kith review list')
      .addOption(dbOption())
      .addOption(workspaceOption())
      .action(async (id: string, opts: { db?: string; workspace: string }) => {
        await withApp(opts, async (app) => {
          const ws = await requireWorkspace(app, opts.workspace);
          const outcome = await decideReview(app.store, ws, id, decision as ReviewDecision, app.now());
          if (!outcome.ok) throw new CliError(outcome.message);
          const p = outcome.pair;
          process.stdout.write(
            decision === 'accept'
              ? `${p.a} and ${p.b} ${outcome.linked ? `are now linked in profile ${outcome.profiles.a}` : 'were accepted, but merge protection keeps them apart (see kith explain)'}\n`
              : `${p.a} and ${p.b} will never be linked${outcome.profiles.a !== null && outcome.profiles.a === outcome.profiles.b ? '' : `; they are in profiles ${outcome.profiles.a ?? '-'} and ${outcome.profiles.b ?? '-'}`}\n`,
          );
        });
      });
  }
}
