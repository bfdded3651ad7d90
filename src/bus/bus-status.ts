import type { Bus } from './nats-bus.ts';
import { streamInfo } from './nats-bus.ts';
import { openHeartbeats, readBeats, type WorkerBeat } from './worker-heartbeat.ts';

/** The intake's state as `kith status` and `/metrics` report it. */
export interface BusStatus {
  readonly stream: string;
  readonly exists: boolean;
  /** Messages in the stream: accepted by API nodes, not yet acknowledged by a worker. */
  readonly messages: number;
  readonly bytes: number;
  /** Of those, not yet handed to any worker; and handed out but not acknowledged yet. */
  readonly pending: number;
  readonly ackPending: number;
  /** Deliveries that were repeats (a worker crashed or was too slow). */
  readonly redelivered: number;
  readonly workers: readonly WorkerBeat[];
  /** Messages per second resolved by all live workers together (from their last beats). */
  readonly throughput: number;
}

/** Reads the stream, its shared consumer and the live workers' heartbeats. */
export async function readBusStatus(bus: Bus): Promise<BusStatus> {
  const { names } = bus;
  const info = await streamInfo(bus.jsm, names.stream);
  if (info === undefined) return { stream: names.stream, exists: false, messages: 0, bytes: 0, pending: 0, ackPending: 0, redelivered: 0, workers: [], throughput: 0 };
  let pending = info.state.messages;
  let ackPending = 0;
  let redelivered = 0;
  try {
    const c = await bus.jsm.consumers.info(names.stream, names.consumer);
    pending = c.num_pending;
    ackPending = c.num_ack_pending;
    redelivered = c.num_redelivered;
  } catch {
    // no worker has created the consumer yet: everything in the stream is pending
  }
  const workers = await readBeats(await openHeartbeats(bus));
  const throughput = workers.reduce((sum, w) => sum + w.rate, 0);
  return { stream: names.stream, exists: true, messages: info.state.messages, bytes: info.state.bytes, pending, ackPending, redelivered, workers, throughput };
}
