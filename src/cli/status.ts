import type { Command } from 'commander';
import { loadBusEnv, parseBusConfig } from '../bus/bus-config.ts';
import { connectBus } from '../bus/nats-bus.ts';
import { readBusStatus, type BusStatus } from '../bus/bus-status.ts';
import { CliError } from './cli-error.ts';
import { dbOption, withApp } from './common.ts';
import { busOption, streamOption } from './bus-options.ts';

/**
 * `kith status`: the JetStream intake at a glance — stream lag (messages accepted and not yet
 * resolved), live workers and their throughput — and, with `--db`, what the database holds. The
 * same figures are on every node's `/metrics` (`kith_bus_*`).
 */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('show the JetStream intake: stream lag, live workers, throughput (and with --db, the database)')
    .addOption(busOption())
    .addOption(streamOption())
    .addOption(dbOption())
    .option('--json', 'print one JSON object')
    .action(async (opts: { bus?: string; stream?: string; db?: string; json?: boolean }) => {
      const env = loadBusEnv(process.env);
      const busUrl = opts.bus ?? env.bus;
      if (busUrl === null) throw new CliError('kith status needs the NATS server: --bus nats://HOST:PORT (or KITH_BUS)');
      let config;
      try {
        config = parseBusConfig(busUrl, opts.stream ?? env.stream);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const bus = await connectBus(config, 'kith status').catch((err: unknown) => {
        throw new CliError((err as Error).message);
      });
      let status: BusStatus;
      try {
        status = await readBusStatus(bus);
      } finally {
        await bus.close();
      }
      let database: Array<{ workspace: string; messages: number; profiles: number; identifiers: number; rejected: number }> | undefined;
      if (opts.db !== undefined) {
        database = await withApp(opts, async (app) => {
          const rows = [];
          for (const w of await app.workspaces.list()) rows.push({ workspace: w.name, ...(await app.store.read.stats(w.id)) });
          return rows;
        });
      }
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify({ ...status, ...(database === undefined ? {} : { database }) })}\n`);
        return;
      }
      process.stdout.write(render(status, database));
    });
}

function render(s: BusStatus, database: Array<{ workspace: string; messages: number; profiles: number; rejected: number }> | undefined): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const lines: string[] = [];
  if (!s.exists) {
    lines.push(`stream ${s.stream}: does not exist yet (the first \`kith serve --bus\` or \`kith worker\` creates it)`);
  } else {
    lines.push(`stream ${s.stream}: ${n(s.messages)} messages waiting to be resolved (${n(s.bytes / 1024)} KB)`);
    lines.push(`  not yet pulled by a worker  ${n(s.pending)}`);
    lines.push(`  pulled, not yet committed   ${n(s.ackPending)}`);
    lines.push(`  redelivered so far          ${n(s.redelivered)}`);
  }
  lines.push(`workers: ${s.workers.length} live, ${n(s.throughput)} messages/s`);
  const now = Date.now();
  for (const w of s.workers) {
    lines.push(
      `  ${w.id}  up ${duration(now - w.startedAt)}  ${n(w.rate)} msg/s  resolved ${n(w.resolved)} (${n(w.duplicates)} repeats)  failed ${n(w.failed)}  seen ${duration(now - w.at)} ago`,
    );
  }
  if (s.exists && s.workers.length === 0 && s.messages > 0) lines.push('  no worker is running: messages wait in the stream (start one with `kith worker`)');
  if (database !== undefined) {
    lines.push('database:');
    for (const r of database) lines.push(`  ${r.workspace}  ${n(r.messages)} messages  ${n(r.profiles)} profiles  ${n(r.rejected)} rejected`);
  }
  return `${lines.join('\n')}\n`;
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
