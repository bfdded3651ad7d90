import type { Command } from 'commander';
import { deleteIdentifier } from '../identity/delete-identifier.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';
import { normalisedKey } from './explain.ts';

/** `kith unlink TYPE:VALUE`: delete an identifier from its profile; the profile splits if it must. */
export function registerUnlink(program: Command): void {
  program
    .command('unlink')
    .description('delete an identifier from its profile and re-resolve (the profile may split)')
    .argument('<identifier>', 'TYPE:VALUE')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--json', 'print JSON')
    .action(async (identifier: string, opts: { db?: string; workspace: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const key = normalisedKey(ws, identifier);
        const state = await app.store.read.findIdentifier(ws.id, key);
        if (state === undefined || state.profileId === null) throw new CliError(`${key} belongs to no profile`);
        const outcome = await deleteIdentifier(app.store, ws, state.profileId, key, app.now());
        if (!outcome.ok) throw new CliError(outcome.message);
        if (opts.json === true) process.stdout.write(`${JSON.stringify({ deleted: key, profileId: outcome.profileId, profiles: outcome.resultingProfiles })}\n`);
        else process.stdout.write(`deleted ${key} from ${outcome.profileId}; its other identifiers are now in: ${outcome.resultingProfiles.join(', ') || '(none)'}\n`);
      });
    });
}
