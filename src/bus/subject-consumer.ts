import type { Msg, Subscription } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import type { App } from '../app.ts';
import { IngestService, type IngestResult } from '../ingest/ingest-service.ts';
import { MESSAGE_TYPES, type MessageType } from '../spec/segment-message.ts';
import type { RejectedRecord, Workspace } from '../store/ports.ts';
import type { Bus } from './nats-bus.ts';

export interface SubjectConsumerOptions {
  readonly app: App;
  readonly bus: Bus;
  /** The subject other systems publish on (wildcards allowed). */
  readonly subject: string;
  readonly workspace: Workspace;
  /** Recorded as each message's source (default `nats:<subject>`). */
  readonly source: string;
  /** JetStream durable consumer name; default derived from workspace and subject. */
  readonly durable?: string;
  /** Core NATS queue group, so several `kith consume` processes split a subject (default `kith-consume`). */
  readonly queue?: string;
  readonly log?: (line: string) => void;
}

export type ConsumeMode = { kind: 'jetstream'; stream: string; durable: string } | { kind: 'core'; queue: string };

const MAX_IN_FLIGHT = 2000;
const MAX_REJECTED_BODY = 8 * 1024;

/**
 * `kith consume`: a river from the company's own event bus. Reads Segment-format JSON (one message,
 * or `{"batch": [...]}` as on /v1/batch) from a NATS subject and ingests it exactly like the
 * Tracking API: invalid messages go to the rejected log with the reason, valid ones are resolved
 * through group commit. When a JetStream stream captures the subject, a durable consumer reads it
 * and each entry is acknowledged only after its commit (at-least-once, and repeats are no-ops by
 * message id); otherwise it is a core-NATS subscription in a queue group (at-most-once, as core
 * NATS itself: publish to a JetStream subject for delivery guarantees). A core-NATS request gets
 * the ingest result as its reply.
 */
export class SubjectConsumer {
  private readonly ingest: IngestService;
  private jsMessages: ConsumerMessages | undefined;
  private sub: Subscription | undefined;
  private loop: Promise<void> | undefined;
  private inFlight = 0;
  private waiters: Array<() => void> = [];
  private idle: Array<() => void> = [];
  private stopping = false;
  readonly counts = { messages: 0, accepted: 0, duplicates: 0, rejected: 0 };

  constructor(private readonly options: SubjectConsumerOptions) {
    this.ingest = new IngestService(options.app.committer, options.app.now);
  }

  async start(): Promise<ConsumeMode> {
    const { bus, subject } = this.options;
    const stream = await findStream(bus, subject);
    if (stream === undefined) {
      const queue = this.options.queue ?? 'kith-consume';
      this.sub = bus.nc.subscribe(subject, { queue });
      this.loop = (async () => {
        for await (const msg of this.sub!) await this.admit(() => this.handleCore(msg));
      })();
      await bus.nc.flush();
      return { kind: 'core', queue };
    }
    const durable = this.options.durable ?? `kith-consume-${this.options.workspace.name}-${subject}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 200);
    try {
      await bus.jsm.consumers.info(stream, durable);
    } catch {
      await bus.jsm.consumers.add(stream, {
        durable_name: durable,
        filter_subject: subject,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: 5000,
      });
    }
    const consumer = await bus.js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 500 });
    this.jsMessages = messages;
    this.loop = (async () => {
      for await (const msg of messages) {
        if (this.stopping) {
          msg.nak();
          continue;
        }
        await this.admit(() => this.handleJetStream(msg));
      }
    })();
    return { kind: 'jetstream', stream, durable };
  }

  /** Runs `task` once fewer than MAX_IN_FLIGHT are running; group commit batches what runs together. */
  private async admit(task: () => Promise<void>): Promise<void> {
    while (this.inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.inFlight += 1;
    void task().finally(() => {
      this.inFlight -= 1;
      this.waiters.shift()?.();
      if (this.inFlight === 0) for (const w of this.idle.splice(0)) w();
    });
  }

  private async handleJetStream(msg: JsMsg): Promise<void> {
    try {
      await this.ingestPayload(msg.string(), msg.subject);
      msg.ack();
    } catch (err) {
      // The store failed (not the message: bad messages are rejected, not thrown): try again later.
      this.options.log?.(`kith consume: could not store stream message ${msg.seq}, will retry: ${err instanceof Error ? err.message : String(err)}`);
      msg.nak(Math.min(30_000, 500 * 2 ** Math.min(6, msg.info.deliveryCount)));
    }
  }

  private async handleCore(msg: Msg): Promise<void> {
    try {
      const result = await this.ingestPayload(msg.string(), msg.subject);
      if (msg.reply !== undefined && msg.reply !== '') msg.respond(JSON.stringify(result));
    } catch (err) {
      this.options.log?.(`kith consume: a message on ${msg.subject} was lost (core NATS cannot redeliver): ${err instanceof Error ? err.message : String(err)}`);
      if (msg.reply !== undefined && msg.reply !== '') msg.respond(JSON.stringify({ success: false, error: { code: 'internal', message: 'the message could not be stored; send it again' } }));
    }
  }

  /** Parses and ingests one payload; whole-payload problems go to the rejected log too. */
  private async ingestPayload(text: string, subject: string): Promise<Record<string, unknown>> {
    const { workspace: ws } = this.options;
    const source = this.options.source;
    this.counts.messages += 1;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      await this.reject({ code: 'invalid_json', reason: `the payload on ${subject} is not valid JSON`, body: text });
      return { success: false, error: { code: 'invalid_json', message: 'the payload is not valid JSON' } };
    }
    let result: IngestResult;
    if (Array.isArray(raw)) result = await this.ingest.batch(ws, source, { batch: raw });
    else if (typeof raw === 'object' && raw !== null && Array.isArray((raw as { batch?: unknown }).batch)) result = await this.ingest.batch(ws, source, raw);
    else if (typeof raw === 'object' && raw !== null && MESSAGE_TYPES.includes((raw as { type?: unknown }).type as MessageType)) {
      result = await this.ingest.single(ws, source, (raw as { type: MessageType }).type, raw);
    } else if (typeof raw === 'object' && raw !== null) {
      // No valid type: let the validator name the problem, and log it, as it would in a batch.
      result = await this.ingest.batch(ws, source, { batch: [raw] });
    } else {
      await this.reject({ code: 'invalid_message', reason: `the payload on ${subject} is not a Segment message (a JSON object)`, body: text });
      return { success: false, error: { code: 'invalid_message', message: 'the payload is not a JSON object' } };
    }
    const metrics = this.options.app.metrics;
    if (result.ok) {
      this.counts.accepted += result.accepted;
      this.counts.duplicates += result.duplicates;
      metrics.accepted.inc(result.accepted);
      metrics.duplicates.inc(result.duplicates);
    }
    this.counts.rejected += result.rejected.length;
    for (const r of result.rejected) metrics.rejected.inc({ reason: r.code });
    if (!result.ok && result.rejected.length === 0) {
      // A batch-level problem (empty batch, too many messages): the service does not log those.
      metrics.rejected.inc({ reason: result.problem.code });
      await this.reject({ code: result.problem.code, reason: result.problem.message, body: text });
    }
    if (!result.ok) return { success: false, error: result.problem, rejected: result.rejected };
    return { success: true, accepted: result.accepted, duplicates: result.duplicates, rejected: result.rejected };
  }

  private async reject(r: { code: string; reason: string; body: string }): Promise<void> {
    this.counts.rejected += 1;
    this.options.app.metrics.rejected.inc({ reason: r.code });
    const record: RejectedRecord = {
      receivedAt: this.options.app.now(),
      index: null,
      messageId: null,
      code: r.code,
      reason: r.reason,
      field: null,
      body: r.body.length <= MAX_REJECTED_BODY ? r.body : `${r.body.slice(0, MAX_REJECTED_BODY)}…`,
      source: this.options.source,
    };
    await this.options.app.committer.submit(this.options.workspace, [], [record]);
  }

  /** Stops reading, finishes (and acknowledges) what is in progress. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.jsMessages !== undefined) await this.jsMessages.close();
    if (this.sub !== undefined) await this.sub.drain();
    await this.loop;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    await this.options.app.committer.flushed();
  }
}

/** The JetStream stream that captures `subject`, if any. */
async function findStream(bus: Bus, subject: string): Promise<string | undefined> {
  try {
    return await bus.jsm.streams.find(subject);
  } catch {
    return undefined;
  }
}
