import { Option } from 'commander';
import type { App } from '../app.ts';
import { loadBusEnv } from '../bus/bus-config.ts';
import { startIntake } from '../bus/start-intake.ts';
import type { BusIntake } from '../bus/bus-intake.ts';
import { CliError } from './cli-error.ts';

/** Options shared by the commands that talk to the JetStream intake. */
export const busOption = (): Option => new Option('--bus <url>', 'NATS server with JetStream, nats://HOST:PORT (env KITH_BUS)');
export const streamOption = (): Option => new Option('--stream <name>', 'intake stream name; its subjects are <name lower-cased>.in.<workspace id> (env KITH_STREAM; default KITH)');

export interface BusCliOptions {
  bus?: string;
  stream?: string;
  busWait?: string;
}

/** `kith serve --bus-wait`; the trade-off is in BUS_SERVE_HELP. */
export const busWaitOption = (): Option =>
  new Option('--bus-wait <ms>', 'with --bus: how long a request waits for workers before answering 202 (env KITH_BUS_WAIT_MS; default 5000)');

export const BUS_SERVE_HELP = `
With --bus (scaled out; needs --db postgres://...):
  This node validates each message as usual (invalid ones are answered in "rejected" and kept in the
  rejected log), appends the accepted ones to the JetStream intake stream (subject per workspace;
  JetStream acknowledges the append before anything else happens), and then waits until a
  \`kith worker\` has resolved them into PostgreSQL. Each message names this node's own NATS subject,
  on which the worker reports the outcome right after its commit, so notifications go only to the
  node that waits.

  The trade-off is the wait: a 200 still means durable AND visible in the profile (read-your-writes),
  at the price of one hop through the stream and a worker's batch. When no worker answers within
  --bus-wait milliseconds (workers down, backlog), the answer is 202 Accepted with
  {"success": true, "queued": n, ...}: the messages are durable in the stream and will be resolved
  (nothing is lost, Segment clients do not retry), but profiles may not show them yet. --bus-wait 0
  always answers 202 right after the append (highest throughput, no read-your-writes).
`;

/**
 * Starts the intake for `kith serve` when `--bus` or `KITH_BUS` is given; undefined otherwise.
 * Errors become one CLI line.
 */
export async function startServeIntake(app: App, opts: BusCliOptions): Promise<{ intake: BusIntake; describe: string; close(): Promise<void> } | undefined> {
  let env;
  try {
    env = loadBusEnv(process.env);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const bus = opts.bus ?? env.bus;
  if (bus === null) return undefined;
  const waitMs = opts.busWait === undefined ? env.waitMs : Number(opts.busWait);
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new CliError(`--bus-wait must be a number of milliseconds, got "${opts.busWait}"`);
  const stream = opts.stream ?? env.stream;
  try {
    const started = await startIntake(app, { bus, stream, waitMs });
    return { intake: started.intake, describe: `intake: stream ${stream} on ${bus.replace(/\/\/[^@/]*@/, '//***@')}, wait ${waitMs} ms`, close: started.close };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}
