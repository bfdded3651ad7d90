import type { App } from '../app.ts';
import { BusIntake } from './bus-intake.ts';
import { BusMetrics } from './bus-metrics.ts';
import { readBusStatus } from './bus-status.ts';
import { parseBusConfig } from './bus-config.ts';
import { connectBus, ensureIntake, type Bus } from './nats-bus.ts';

/**
 * Wires an API node to the JetStream intake (`kith serve --bus`): connects, creates the stream and
 * the workers' consumer if missing, adds the bus metrics to the node's `/metrics`, and returns the
 * sink that replaces the node's own group commit. Workers write to PostgreSQL, and the node reads
 * profiles from the same database, so the node's store must be PostgreSQL.
 */
export async function startIntake(app: App, opts: { bus: string; stream: string; waitMs: number }): Promise<{ intake: BusIntake; bus: Bus; close(): Promise<void> }> {
  if (app.store.kind !== 'postgres') {
    throw new Error('--bus needs the PostgreSQL store (--db postgres://...): workers resolve into PostgreSQL and this node reads profiles from it');
  }
  const bus = await connectBus(parseBusConfig(opts.bus, opts.stream), 'kith serve');
  try {
    await ensureIntake(bus);
    const metrics = new BusMetrics(app.metrics.registry, () => readBusStatus(bus));
    const intake = new BusIntake({ bus, local: app.committer, store: app.store, waitMs: opts.waitMs, metrics });
    await intake.start();
    return {
      intake,
      bus,
      close: async () => {
        intake.close();
        await bus.close();
      },
    };
  } catch (err) {
    await bus.close();
    throw err;
  }
}
