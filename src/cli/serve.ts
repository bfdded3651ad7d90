import type { Command } from 'commander';
import { createApp, describeLocation } from '../app.ts';
import { buildServer } from '../api/server.ts';
import { loadConfig, parseCorsOrigins, type CorsOrigins } from '../config.ts';
import { CliError } from './cli-error.ts';
import { dbOption } from './common.ts';
import { BUS_SERVE_HELP, busOption, busWaitOption, startServeIntake, streamOption, type BusCliOptions } from './bus-options.ts';
import type { CreateWorkspaceResult } from '../workspace/workspace-service.ts';
import { resumeRulesChanges } from '../identity/rules-change.ts';

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
    .addOption(busOption())
    .addOption(streamOption())
    .addOption(busWaitOption())
    .addHelpText('after', BUS_SERVE_HELP)
    .option('--port <n>', 'port to listen on (env PORT; default 8080)')
    .option('--host <host>', 'address to bind (env HOST; default 127.0.0.1)')
    .option('--quiet', 'do not log each request')
    .option('--cors-origins <list>', 'browser origins allowed on the tracking endpoints: "*", "none" or comma-separated origins (env KITH_CORS_ORIGINS; default *)')
    .option('--max-connections <n>', 'open connections at most (env KITH_MAX_CONNECTIONS; default 10000)')
    .action(async (opts: { db?: string; port?: string; host?: string; quiet?: boolean; corsOrigins?: string; maxConnections?: string }) => {
      const config = loadConfig(process.env);
      let cors: CorsOrigins = config.corsOrigins;
      if (opts.corsOrigins !== undefined) {
        try {
          cors = parseCorsOrigins(opts.corsOrigins, '--cors-origins');
        } catch (err) {
          throw new CliError((err as Error).message);
        }
      }
      const maxConnections = opts.maxConnections === undefined ? config.limits.maxConnections : Number(opts.maxConnections);
      if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new CliError(`--max-connections must be a positive integer, got "${opts.maxConnections}"`);
      const port = opts.port === undefined ? config.port : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError(`--port must be a port number, got "${opts.port}"`);
      const host = opts.host ?? config.host;
      const db = opts.db ?? config.db;
      const app = await createApp({ db });
      const bus = await startServeIntake(app, opts as BusCliOptions).catch(async (err: unknown) => {
        await app.close();
        throw err;
      });

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
        cors,
        limits: { ...config.limits, maxConnections },
        ...(bus === undefined ? {} : { intake: bus.intake }),
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
          await bus?.close();
          await app.close();
          process.stdout.write('kith: stopped cleanly\n');
        })();
        return stopping;
      };
      await server.listen({ port, host });
      const address = server.server.address();
      const shown = typeof address === 'object' && address !== null ? `http://${host}:${address.port}` : String(address);
      process.stdout.write(`kith: serving on ${shown} (store: ${describeLocation(db)}${bus === undefined ? '' : `; ${bus.describe}`})\n`);
      // A rules change that a crash interrupted is finished in the background: ingest keeps flowing
      // (new messages are resolved under the saved rules) while the history is re-resolved.
      void resumeRulesChanges(app.store, { now: app.now, log: (line) => process.stdout.write(`${line}\n`) }).catch((err: unknown) => {
        if (stopping === undefined) process.stderr.write(`kith: could not finish an interrupted rules change: ${err instanceof Error ? err.message : String(err)}\n`);
      });
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', () => void stop('SIGTERM').then(resolve));
        process.once('SIGINT', () => void stop('SIGINT').then(resolve));
      });
    });
}
