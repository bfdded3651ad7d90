import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The Prometheus metrics of one kith process, on a registry of its own (no global state), served
 * at `GET /metrics`. Labels never carry personal data: no identifier values, no workspace names.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly accepted = new Counter({ name: 'kith_messages_accepted_total', help: 'Messages accepted and resolved', registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'kith_messages_duplicate_total', help: 'Messages accepted as repeats of a stored messageId (no-ops)', registers: [this.registry] });
  readonly rejected = new Counter({ name: 'kith_messages_rejected_total', help: 'Messages rejected, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly merges = new Counter({ name: 'kith_profile_merges_total', help: 'Profiles merged into another', registers: [this.registry] });
  readonly splits = new Counter({ name: 'kith_profile_splits_total', help: 'Profiles split by re-resolution', registers: [this.registry] });
  readonly quarantines = new Counter({ name: 'kith_identifier_quarantines_total', help: 'Identifiers quarantined for linking too many people', registers: [this.registry] });
  readonly replays = new Counter({ name: 'kith_component_replays_total', help: 'Group commits that re-resolved components from evidence', registers: [this.registry] });
  readonly httpDuration = new Histogram({
    name: 'kith_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly transaction = new Histogram({
    name: 'kith_store_transaction_seconds',
    help: 'Time to resolve and commit one group commit',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly groupSize = new Histogram({
    name: 'kith_group_commit_messages',
    help: 'Messages per group commit',
    buckets: [1, 10, 50, 100, 200, 400, 800, 1600, 5000],
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'kith_' });
  }
}
