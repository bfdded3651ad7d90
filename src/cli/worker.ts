import type { Command } from 'commander';
import { Option } from 'commander';
import { createApp, describeLocation, isPostgresUrl } from '../app.ts';
import { loadConfig } from '../config.ts';
import { loadBusEnv, parseBusConfig } from '../bus/bus-config.ts';
import { connectBus, ensureIntake } from '../bus/nats-bus.ts';
import { BusMetrics } from '../bus/bus-metrics.ts';
import { readBusStatus } from '../bus/bus-status.ts';
import { BusWorker } from '../bus/bus-worker.ts';
import { serveMetrics } from '../bus/metrics-endpoint.ts';
import { CliError } from './cli-error.ts';
import { dbOption } from './common.ts';
import { busOption, streamOption } from './bus-options.ts';

interface WorkerOpts {
  db?: string;
  bus?: string;
  stream?: string;
  batch: string;
  ackWait: string;
  metricsPort: string;
  metricsHost: string;
}

/**
 * `kith worker`: a resolver worker for the JetStream intake. Any number may run, on any machines;
 * they share one durable consumer, so JetStream splits the stream between them. SIGTERM/SIGINT
 * finish and acknowledge what is in progress, hand back the rest, and exit.
 */
export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('resolve messages from the JetStream intake into PostgreSQL (run as many as you need)')
    .addOption(dbOption())
    .addOption(busOption())
    .addOption(streamOption())
    .addOption(new Option('--batch <n>', 'messages pulled per request; one PostgreSQL transaction resolves up to this many').default('1000'))
    .addOption(new Option('--ack-wait <seconds>', 'when creating the consumer: how long a worker may hold a message before it is redelivered to another').default('30'))
    .addOption(new Option('--metrics-port <n>', 'port of this worker\'s /metrics and /health (0: any free port)').env('KITH_METRICS_PORT').default('9464'))
    .addOption(new Option('--metrics-host <host>', 'address of /metrics').default('127.0.0.1'))
    .action(async (opts: WorkerOpts) => {
      const db = opts.db ?? loadConfig(process.env).db;
      if (!isPostgresUrl(db)) throw new CliError(`kith worker needs the PostgreSQL store (--db postgres://...), not ${db}`);
      const env = loadBusEnv(process.env);
      const busUrl = opts.bus ?? env.bus;
      if (busUrl === null) throw new CliError('kith worker needs the NATS server: --bus nats://HOST:PORT (or KITH_BUS)');
      const batchSize = positiveInt(opts.batch, '--batch');
      const ackWait = positiveInt(opts.ackWait, '--ack-wait');
      const metricsPort = Number(opts.metricsPort);
      if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) throw new CliError(`--metrics-port must be a port number, got "${opts.metricsPort}"`);
      let config;
      try {
        config = parseBusConfig(busUrl, opts.stream ?? env.stream);
      } catch (err) {
        throw new CliError((err as Error).message);
      }

      const app = await createApp({ db });
      const bus = await connectBus(config, 'kith worker').catch(async (err: unknown) => {
        await app.close();
        throw new CliError((err as Error).message);
      });
      let endpoint: { port: number; close(): Promise<void> } | undefined;
      let worker: BusWorker | undefined;
      try {
        await ensureIntake(bus, { ackWaitMs: ackWait * 1000 });
        const metrics = new BusMetrics(app.metrics.registry, () => readBusStatus(bus));
        worker = new BusWorker({ app, bus, metrics, batchSize, log: (line) => process.stderr.write(`${line}\n`) });
        endpoint = await serveMetrics(app.metrics.registry, { port: metricsPort, host: opts.metricsHost });
        await worker.start();
      } catch (err) {
        await endpoint?.close();
        await bus.close();
        await app.close();
        throw new CliError(`kith worker could not start: ${(err as Error).message}`);
      }
      process.stdout.write(
        `kith worker ${worker.id}: resolving stream ${config.stream} into ${describeLocation(db)}; metrics on http://${opts.metricsHost}:${endpoint.port}/metrics\n`,
      );
      const started = worker;
      const openEndpoint = endpoint;
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          process.stdout.write(`kith worker: ${signal} received, finishing messages in progress\n`);
          void (async () => {
            await started.stop();
            await openEndpoint.close();
            await bus.close();
            await app.close();
            process.stdout.write('kith worker: stopped cleanly\n');
            resolve();
          })();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${name} must be a positive integer, got "${text}"`);
  return n;
}
