import type { Command } from 'commander';
import { CliError } from './cli-error.ts';
import { dbOption, iso, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** `kith rejected`: the messages the tracking API refused, newest first, with the reason. */
export function registerRejected(program: Command): void {
  program
    .command('rejected')
    .description('list rejected messages (newest first) with the reason for each')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON lines')
    .action(async (opts: { db?: string; workspace: string; limit: string; json?: boolean }) => {
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new CliError('--limit must be an integer from 1 to 100000');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const rows = await app.store.read.listRejected(ws.id, { limit, beforeSeq: null });
        if (rows.length === 0 && opts.json !== true) process.stdout.write('no rejected messages\n');
        for (const r of rows) {
          if (opts.json === true) process.stdout.write(`${JSON.stringify(r)}\n`);
          else process.stdout.write(`${iso(r.receivedAt)}  ${r.code}  ${r.reason}  message=${r.messageId ?? '-'} index=${r.index ?? '-'} source=${r.source}\n    ${r.body.slice(0, 200)}\n`);
        }
      });
    });
}
