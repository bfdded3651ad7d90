import type { Command } from 'commander';
import { exportPerson } from '../privacy/export-person.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** `kith export-person TYPE:VALUE`: everything held about a person, as one JSON document. */
export function registerExportPerson(program: Command): void {
  program
    .command('export-person')
    .description('print everything held about a person as one JSON document: ids, identifiers, traits, consent, events, evidence, history')
    .argument('<identifier>', 'TYPE:VALUE, e.g. email:jane@example.com or profile_id:prf_...')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (identifier: string, opts: { db?: string; workspace: string }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const outcome = await exportPerson(app.store.read, ws, identifier, app.now());
        if (!outcome.ok) throw new CliError(outcome.profiles === undefined ? outcome.message : `${outcome.message} (${outcome.profiles.join(', ')})`);
        process.stdout.write(`${JSON.stringify(outcome.document, null, 2)}\n`);
      });
    });
}
