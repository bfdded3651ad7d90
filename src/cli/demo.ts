import type { Command } from 'commander';
import { generateDataset } from '../demo/generate-dataset.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';
import { loadConfig } from '../config.ts';

/**
 * `kith demo`: sends a generated multichannel dataset (web, app, store, contact centre) through the
 * public Tracking API of a running server, so a newcomer has customers to explore. Without
 * `--write-key` it creates a write key with source "demo" in the local database.
 */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('send a generated multichannel dataset to a running kith server')
    .option('--people <n>', 'how many customers to generate', '200')
    .option('--url <url>', 'the server', `http://127.0.0.1:${loadConfig(process.env).port}`)
    .option('--write-key <key>', 'write key to send with (default: create one in the local database)')
    .option('--seed <n>', 'seed of the generator', '1')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (opts: { people: string; url: string; writeKey?: string; seed: string; db?: string; workspace: string }) => {
      const people = Number(opts.people);
      if (!Number.isInteger(people) || people < 1 || people > 1_000_000) throw new CliError('--people must be an integer from 1 to 1000000');
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed)) throw new CliError('--seed must be an integer');
      const url = opts.url.replace(/\/+$/, '');
      try {
        const health = await fetch(`${url}/health`);
        if (!health.ok) throw new Error(`status ${health.status}`);
      } catch (err) {
        throw new CliError(`no kith server answers at ${url} (${err instanceof Error ? err.message : String(err)}); start one with: npm start`);
      }
      const writeKey =
        opts.writeKey ??
        (await withApp(opts, async (app) => {
          const ws = await requireWorkspace(app, opts.workspace);
          return app.workspaces.addKey(ws.id, 'write', 'demo');
        }));

      const data = generateDataset({ people, seed });
      const auth = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
      const started = performance.now();
      let accepted = 0;
      let duplicates = 0;
      let rejected = 0;
      for (let i = 0; i < data.messages.length; i += 100) {
        const batch = data.messages.slice(i, i + 100);
        const res = await fetch(`${url}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: auth },
          body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
        });
        const body = (await res.json()) as { accepted?: number; duplicates?: number; rejected?: unknown[]; error?: { message: string } };
        if (res.status >= 500 || res.status === 401 || res.status === 403) throw new CliError(`the server refused the demo data: ${body.error?.message ?? res.status}`);
        accepted += body.accepted ?? 0;
        duplicates += body.duplicates ?? 0;
        rejected += body.rejected?.length ?? 0;
        if (process.stdout.isTTY) process.stdout.write(`\rsent ${Math.min(i + 100, data.messages.length)}/${data.messages.length} messages`);
      }
      const seconds = (performance.now() - started) / 1000;
      const where = `${opts.db === undefined ? '' : ` --db ${opts.db}`}${opts.workspace === 'default' ? '' : ` -w ${opts.workspace}`}`;
      const someone = data.people.find((p) => p.identifiers.some((k) => k.startsWith('loyalty_id:')) && p.identifiers.some((k) => k.startsWith('phone:'))) ?? data.people[0]!;
      process.stdout.write(
        [
          process.stdout.isTTY ? '' : undefined,
          `demo: ${data.messages.length} messages for ${people} people in ${seconds.toFixed(1)} s: ${accepted} accepted, ${duplicates} duplicates, ${rejected} rejected`,
          '',
          'Explore one of them:',
          `  npx kith profile email:${someone.email}${where}`,
          `  npx kith explain email:${someone.email} ${someone.identifiers.find((k) => k.startsWith('loyalty_id:')) ?? someone.identifiers[0]}${where}`,
          '',
        ]
          .filter((l) => l !== undefined)
          .join('\n'),
      );
    });
}
