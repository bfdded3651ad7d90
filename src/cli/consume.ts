import type { Command } from 'commander';
import { Option } from 'commander';
import { createApp, describeLocation } from '../app.ts';
import { loadConfig } from '../config.ts';
import { loadBusEnv, parseBusConfig } from '../bus/bus-config.ts';
import { connectBus } from '../bus/nats-bus.ts';
import { SubjectConsumer } from '../bus/subject-consumer.ts';
import { serveMetrics } from '../bus/metrics-endpoint.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, workspaceOption } from './common.ts';
import { busOption } from './bus-options.ts';

interface ConsumeOpts {
  db?: string;
  bus?: string;
  subject?: string;
  workspace: string;
  source?: string;
  durable?: string;
  queue?: string;
  metricsPort?: string;
  metricsHost: string;
}

/**
 * `kith consume`: ingests Segment-format messages that other systems publish on a NATS subject
 * into a workspace, until SIGTERM/SIGINT.
 */
export function registerConsume(program: Command): void {
  program
    .command('consume')
    .description('ingest Segment-format JSON messages published on a NATS subject (core NATS or JetStream)')
    .addOption(busOption())
    .addOption(new Option('--subject <subject>', 'NATS subject to read (wildcards allowed)'))
    .addOption(workspaceOption())
    .addOption(dbOption())
    .addOption(new Option('--source <name>', 'source recorded on each message (default nats:<subject>)'))
    .addOption(new Option('--durable <name>', 'JetStream durable consumer name, when a stream captures the subject (default kith-consume-<workspace>-<subject>)'))
    .addOption(new Option('--queue <group>', 'core NATS queue group, so several consumers split the subject').default('kith-consume'))
    .addOption(new Option('--metrics-port <n>', 'serve /metrics and /health on this port (0: any free port)'))
    .addOption(new Option('--metrics-host <host>', 'address of /metrics').default('127.0.0.1'))
    .addHelpText(
      'after',
      `
Each NATS message is one Segment message ({"type":"track",...}) or a batch ({"batch":[...]}, or a
JSON array of messages). Invalid messages go to the workspace's rejected log (\`kith rejected\`) and
never stop the consumer. When a JetStream stream captures the subject, a durable consumer reads it
and acknowledges each entry after the database commit (nothing is lost if kith stops or crashes);
otherwise it is a plain core-NATS subscription (at-most-once, like core NATS itself), and a
request (a message with a reply subject) is answered with the ingest result.`,
    )
    .action(async (opts: ConsumeOpts) => {
      const env = loadBusEnv(process.env);
      const busUrl = opts.bus ?? env.bus;
      if (busUrl === null) throw new CliError('kith consume needs the NATS server: --bus nats://HOST:PORT (or KITH_BUS)');
      if (opts.subject === undefined || opts.subject.trim() === '') throw new CliError('kith consume needs --subject SUBJECT');
      const subject = opts.subject.trim();
      if (/\s/.test(subject) || subject.startsWith('.') || subject.endsWith('.') || subject.includes('..')) throw new CliError(`--subject is not a NATS subject: "${subject}"`);
      let metricsPort: number | undefined;
      if (opts.metricsPort !== undefined) {
        metricsPort = Number(opts.metricsPort);
        if (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535) throw new CliError(`--metrics-port must be a port number, got "${opts.metricsPort}"`);
      }
      let config;
      try {
        config = parseBusConfig(busUrl);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      const db = opts.db ?? loadConfig(process.env).db;
      const app = await createApp({ db });
      let bus;
      let consumer: SubjectConsumer;
      let endpoint: { port: number; close(): Promise<void> } | undefined;
      let mode;
      try {
        const ws = await requireWorkspace(app, opts.workspace);
        bus = await connectBus(config, 'kith consume');
        consumer = new SubjectConsumer({
          app,
          bus,
          subject,
          workspace: ws,
          source: opts.source ?? `nats:${subject}`,
          ...(opts.durable === undefined ? {} : { durable: opts.durable }),
          ...(opts.queue === undefined ? {} : { queue: opts.queue }),
          log: (line) => process.stderr.write(`${line}\n`),
        });
        mode = await consumer.start();
        if (metricsPort !== undefined) endpoint = await serveMetrics(app.metrics.registry, { port: metricsPort, host: opts.metricsHost });
      } catch (err) {
        await bus?.close();
        await app.close();
        if (err instanceof CliError) throw err;
        throw new CliError(`kith consume could not start: ${(err as Error).message}`);
      }
      const how = mode.kind === 'jetstream' ? `JetStream stream ${mode.stream}, durable consumer ${mode.durable}` : `core NATS, queue group ${mode.queue}`;
      process.stdout.write(
        `kith consume: reading ${subject} (${how}) into workspace ${opts.workspace} at ${describeLocation(db)}${endpoint === undefined ? '' : `; metrics on http://${opts.metricsHost}:${endpoint.port}/metrics`}\n`,
      );
      const openBus = bus;
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          process.stdout.write(`kith consume: ${signal} received, finishing messages in progress\n`);
          void (async () => {
            await consumer.stop();
            await endpoint?.close();
            await openBus.close();
            await app.close();
            const c = consumer.counts;
            process.stdout.write(`kith consume: stopped cleanly (${c.messages} payloads, ${c.accepted} accepted, ${c.duplicates} repeats, ${c.rejected} rejected)\n`);
            resolve();
          })();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
