import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { busNames, type BusConfig, type BusNames } from './bus-config.ts';

/** One process's connection to the bus: core NATS, JetStream and its manager, and the names. */
export interface Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly names: BusNames;
  close(): Promise<void>;
}

/**
 * Connects to NATS (reconnecting forever once connected: a NATS restart must not stop an API node
 * or a worker) and checks that JetStream is enabled. `name` shows in the server's connection list.
 */
export async function connectBus(config: BusConfig, name: string): Promise<Bus> {
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: [...config.servers], name, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${config.servers.join(', ')}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc);
  } catch (err) {
    await nc.close();
    throw new Error(`NATS at ${config.servers.join(', ')} has no JetStream (start nats-server with -js): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return {
    nc,
    js: jetstream(nc),
    jsm,
    names: busNames(config.stream),
    close: async () => {
      if (!nc.isClosed()) await nc.drain();
    },
  };
}

export interface IntakeOptions {
  /** How long a worker may hold a message before JetStream gives it to another (default 30 s). */
  readonly ackWaitMs?: number;
}

/**
 * Creates the intake stream and the workers' shared durable consumer unless they exist; safe when
 * several processes start at once (whoever loses the race finds the winner's). The stream is a
 * work queue: a message leaves it once a worker acknowledges it, after the PostgreSQL commit, so
 * the stream holds exactly the backlog. Publishing dedupes on `Nats-Msg-Id` within two minutes.
 */
export async function ensureIntake(bus: Bus, options: IntakeOptions = {}): Promise<void> {
  const { jsm, names } = bus;
  if ((await streamInfo(jsm, names.stream)) === undefined) {
    try {
      await jsm.streams.add({
        name: names.stream,
        subjects: [names.intakeWildcard],
        retention: RetentionPolicy.Workqueue,
        storage: StorageType.File,
        duplicate_window: nanos(120_000),
        max_msg_size: 1024 * 1024,
      });
    } catch (err) {
      if ((await streamInfo(jsm, names.stream)) === undefined) throw err;
    }
  }
  if ((await consumerExists(jsm, names.stream, names.consumer)) === false) {
    try {
      await jsm.consumers.add(names.stream, {
        durable_name: names.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(options.ackWaitMs ?? 30_000),
        max_ack_pending: 20_000,
        max_deliver: -1,
      });
    } catch (err) {
      if (!(await consumerExists(jsm, names.stream, names.consumer))) throw err;
    }
  }
}

/** Deletes the intake stream and the heartbeat bucket (tests and benchmarks clean up with it). */
export async function removeIntake(bus: Bus): Promise<void> {
  for (const name of [bus.names.stream, `KV_${bus.names.heartbeats}`]) {
    if ((await streamInfo(bus.jsm, name)) !== undefined) await bus.jsm.streams.delete(name);
  }
}

export async function streamInfo(jsm: JetStreamManager, name: string) {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

async function consumerExists(jsm: JetStreamManager, stream: string, name: string): Promise<boolean> {
  try {
    await jsm.consumers.info(stream, name);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 10059 || code === 10014 || (err instanceof Error && /not found/i.test(err.message));
}
