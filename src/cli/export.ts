import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Option, type Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from '../export/export-profiles.ts';
import { exportText } from '../export/export-stream.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

/**
 * `kith export`: every profile with its id, identifiers and traits, as NDJSON (one profile per
 * line; re-importable with examples/profiles-export.mapping.yaml) or CSV (dotted column names),
 * to standard output or a file, streamed page by page.
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write every profile (id, identifiers, traits) as NDJSON or CSV')
    .addOption(new Option('--format <format>', 'ndjson or csv').choices(EXPORT_FORMATS).default('ndjson'))
    .option('--out <file>', 'write to this file instead of standard output')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (opts: { format: ExportFormat; out?: string; db?: string; workspace: string }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const out = opts.out === undefined ? process.stdout : createWriteStream(opts.out);
        // A reader that goes away (`kith export | head`) ends the export quietly.
        let closed = false;
        const failed = new Promise<void>((resolve, reject) =>
          out.once('error', (err: NodeJS.ErrnoException) => {
            if (err.code === 'EPIPE') {
              closed = true;
              resolve();
            } else reject(new CliError(`cannot write ${opts.out ?? 'standard output'}: ${err.message}`));
          }),
        );
        failed.catch(() => undefined);
        let profiles = 0;
        for await (const chunk of exportText(app.store.read, ws, opts.format)) {
          if (closed) break;
          if (!out.write(chunk)) await Promise.race([once(out, 'drain'), failed]);
          profiles++;
        }
        if (opts.out !== undefined) {
          await Promise.race([new Promise<void>((resolve) => out.end(resolve)), failed]);
          const rows = opts.format === 'csv' ? profiles - 1 : profiles;
          process.stderr.write(`exported ${rows} profiles to ${opts.out}\n`);
        }
      });
    });
}
