import type { Command } from 'commander';
import { erasePerson } from '../privacy/erase-person.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** `kith erase TYPE:VALUE`: erase a person and keep their identifiers out for good (hashed). */
export function registerErase(program: Command): void {
  program
    .command('erase')
    .description('erase a person found by any identifier: profile, events, traits, consent, evidence; their identifiers are kept only as salted hashes so old messages cannot bring them back')
    .argument('<identifier>', 'TYPE:VALUE, e.g. email:jane@example.com or profile_id:prf_...')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--json', 'print JSON')
    .action(async (identifier: string, opts: { db?: string; workspace: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const outcome = await erasePerson(app.store, ws, identifier, app.now());
        if (!outcome.ok) throw new CliError(outcome.profiles === undefined ? outcome.message : `${outcome.message} (${outcome.profiles.join(', ')})`);
        const r = outcome.report;
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(r)}\n`);
          return;
        }
        const lines = [
          `erased ${r.profileIds.join(', ')}`,
          `  ${r.messagesDeleted} message(s), ${r.rejectedDeleted} rejected-log row(s), ${r.historyDeleted} history row(s) deleted; ${r.redirectsChanged} redirect(s) changed`,
          `  ${r.identifiersSuppressed} identifier(s) deleted and suppressed (salted hashes only)`,
        ];
        if (r.identifiersShared > 0) lines.push(`  ${r.identifiersShared} identifier(s) also in other people's events were detached and left with them`);
        lines.push(`  store: ${r.scrubbed.detail}`);
        process.stdout.write(`${lines.join('\n')}\n`);
        if (!r.scrubbed.complete) process.exitCode = 3;
      });
    });
}
