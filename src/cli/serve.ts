import type { Command } from 'commander';
import { createApp, describeLocation } from '../app.ts';
import { buildServer } from '../api/server.ts';
import { loadConfig } from '../config.ts';
import { CliError } from './cli-error.ts';
import { dbOption } from './common.ts';
import type { CreateWorkspaceResult } from '../workspace/workspace-service.ts';

/**
 * `kith serve`: the HTTP server, on the embedded SQLite store or on PostgreSQL (`--db postgres://...`,
 * pending migrations applied at start). The first start on a new database creates the workspace
 * `default` and prints its keys once (they are stored hashed and cannot be shown again). SIGTERM/SIGINT stop accepting connections, let in-flight requests finish, then close the
 * store cleanly.
 */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the HTTP server (Segment Tracking API, Profile API, admin API)')
    .addOption(dbOption())
    .option('--port <n>', 'port to listen on (env PORT; default 8080)')
    .option('--host <host>', 'address to bind (env HOST; default 127.0.0.1)')
    .option('--quiet', 'do not log each request')
    .action(async (opts: { db?: string; port?: string; host?: string; quiet?: boolean }) => {
      const config = loadConfig(process.env);
      const port = opts.port === undefined ? config.port : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, got "${opts.port}"`);
      const host = opts.host ?? config.host;
      const db = opts.db ?? config.db;
      const app = await createApp({ db });

      let created: CreateWorkspaceResult | undefined;
      if ((await app.workspaces.list()).length === 0) {
        created = await app.workspaces.create('default');
        // `exists`: another node sharing this PostgreSQL database created it first; it printed the keys.
        if (!created.ok && created.code !== 'exists') throw new CliError(created.message);
      }
      if (created?.ok === true) {
        const { writeKey, readKey, adminKey } = created.created;
        process.stdout.write(
          [
            '',
            'Created workspace "default". Its keys are shown once; keep them:',
            `  write key (send data):         ${writeKey}`,
            `  read key  (read profiles):     ${readKey}`,
            `  admin key (settings, deletes): ${adminKey}`,
            '',
          ].join('\n') + '\n',
        );
      }

      const server = buildServer(app, {
        logger: opts.quiet === true ? false : { level: config.logLevel },
        rateLimit: { messagesPerSecond: config.rateLimit, burst: 2 * config.rateLimit },
      });
      let stopping: Promise<void> | undefined;
      const stop = (signal: string): Promise<void> => {
        stopping ??= (async () => {
          process.stdout.write(`kith: ${signal} received, finishing in-flight requests\n`);
          const timer = setTimeout(() => {
            process.stderr.write('kith: in-flight requests did not finish in time; closing anyway\n');
            process.exit(1);
          }, config.shutdownGraceMs);
          timer.unref();
          await server.close();
          await app.close();
          process.stdout.write('kith: stopped cleanly\n');
        })();
        return stopping;
      };
      await server.listen({ port, host });
      const address = server.server.address();
      const shown = typeof address === 'object' && address !== null ? `http://${host}:${address.port}` : String(address);
      process.stdout.write(`kith: serving on ${shown} (store: ${describeLocation(db)})\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => void stop('SIGTERM').then(resolve));
        process.once('SIGINT', () => void stop('SIGINT').then(resolve));
      });
    });
}
