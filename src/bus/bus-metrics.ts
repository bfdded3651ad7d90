import { Counter, Gauge, type Registry } from 'prom-client';
import type { BusStatus } from './bus-status.ts';

/**
 * The intake's metrics, added to a node's registry (API node, worker, consumer). The gauges read the
 * shared state (stream lag, live workers, throughput) when scraped, at most once a second, so every
 * node reports the same figures; the counters are this process's own.
 */
export class BusMetrics {
  readonly published: Counter;
  readonly queued: Counter;
  readonly resolved: Counter<'outcome'>;
  readonly redelivered: Counter;
  readonly failed: Counter;
  private cached: { at: number; status: Promise<BusStatus | undefined> } | undefined;

  constructor(registry: Registry, readStatus: () => Promise<BusStatus>) {
    const registers = [registry];
    this.published = new Counter({ name: 'kith_bus_published_total', help: 'Messages this API node appended to the intake stream', registers });
    this.queued = new Counter({ name: 'kith_bus_queued_total', help: 'Messages this API node answered 202 for (durable, not resolved within the wait)', registers });
    this.resolved = new Counter({ name: 'kith_bus_resolved_total', help: 'Messages this worker resolved and acknowledged, by outcome', labelNames: ['outcome'] as const, registers });
    this.redelivered = new Counter({ name: 'kith_bus_redelivered_total', help: 'Redelivered messages this worker received', registers });
    this.failed = new Counter({ name: 'kith_bus_failed_total', help: 'Messages this worker could not resolve (retried later, or put in the rejected log)', registers });
    const status = (): Promise<BusStatus | undefined> => {
      const now = Date.now();
      if (this.cached === undefined || now - this.cached.at > 1000) this.cached = { at: now, status: readStatus().catch(() => undefined) };
      return this.cached.status;
    };
    const gauge = (name: string, help: string, pick: (s: BusStatus) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          const s = await status();
          if (s !== undefined) this.set(pick(s));
        },
      });
    };
    gauge('kith_bus_stream_messages', 'Messages in the intake stream (accepted, not yet resolved)', (s) => s.messages);
    gauge('kith_bus_consumer_pending', 'Messages in the intake stream not yet handed to a worker', (s) => s.pending);
    gauge('kith_bus_consumer_ack_pending', 'Messages handed to workers and not yet acknowledged', (s) => s.ackPending);
    gauge('kith_bus_workers', 'Live resolver workers (heartbeat within the last few seconds)', (s) => s.workers.length);
    gauge('kith_bus_throughput_messages_per_second', 'Messages per second resolved by all live workers', (s) => s.throughput);
  }
}
