import type { Command } from 'commander';
import { CliError } from './cli-error.ts';
import { dbOption, withApp } from './common.ts';

/** `kith workspace create NAME --json` and `kith workspace list`. */
export function registerWorkspace(program: Command): void {
  const ws = program.command('workspace').description('create and list workspaces');
  ws.command('create')
    .description('create a workspace and print its write, read and admin keys (shown once)')
    .argument('<name>', 'workspace name: lower-case letters, digits, "-" or "_"')
    .addOption(dbOption())
    .option('--json', 'print one JSON object')
    .action(async (name: string, opts: { db?: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const result = await app.workspaces.create(name);
        if (!result.ok) throw new CliError(result.message);
        const { writeKey, readKey, adminKey } = result.created;
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ workspace: name, writeKey, readKey, adminKey })}\n`);
        } else {
          process.stdout.write(`workspace ${name} created; keys are shown once:\n  write: ${writeKey}\n  read:  ${readKey}\n  admin: ${adminKey}\n`);
        }
      });
    });
  ws.command('list')
    .description('list workspaces with their message and profile counts')
    .addOption(dbOption())
    .option('--json', 'print JSON')
    .action(async (opts: { db?: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const rows = [];
        for (const w of await app.workspaces.list()) rows.push({ workspace: w.name, ...(await app.store.read.stats(w.id)) });
        if (opts.json === true) process.stdout.write(`${JSON.stringify(rows)}\n`);
        else for (const r of rows) process.stdout.write(`${r.workspace}\t${r.messages} messages\t${r.profiles} profiles\t${r.identifiers} identifiers\t${r.rejected} rejected\n`);
      });
    });
}
