import { randomBytes } from 'node:crypto';
import { headers, type Subscription } from '@nats-io/transport-node';
import type { MessageSink } from '../ingest/ingest-service.ts';
import type { MessageOutcome, PreparedMessage } from '../identity/resolve-batch.ts';
import type { RejectedRecord, Store, Workspace } from '../store/ports.ts';
import type { Bus } from './nats-bus.ts';
import { dedupeId, encodeEnvelope, NOTIFY_HEADER } from './intake-envelope.ts';
import { decodeNotification } from './resolved-notification.ts';
import type { BusMetrics } from './bus-metrics.ts';

export interface BusIntakeOptions {
  readonly bus: Bus;
  /** The node's own group commit: the rejected log is written here, not sent through the stream. */
  readonly local: MessageSink;
  /** Read to settle messages JetStream reported as repeats of an earlier publish. */
  readonly store: Store;
  /** How long a request waits for workers before its unresolved messages are answered `queued`. */
  readonly waitMs: number;
  readonly metrics?: BusMetrics;
}

type Outcome = MessageOutcome | 'queued';

/**
 * The API node's side of the JetStream intake (`kith serve --bus`): publishes each accepted
 * message to the workspace's intake subject, waits for JetStream's acknowledgement (the message is
 * then durable), then waits until a worker reports it resolved, at most `waitMs`; what is still
 * unresolved by then is answered `queued` (the HTTP layer says 202).
 *
 * How a node learns that its messages are resolved: each message carries a `Kith-Notify` header
 * naming this node's own core-NATS subject; after the PostgreSQL commit (and before acknowledging
 * to JetStream) a worker publishes the outcomes on it, one notification per batch and node. So
 * notifications go only to the node that waits, whatever the number of nodes, and cost one small
 * publish per batch. Core NATS is at-most-once: a notification lost (NATS restarted between the
 * commit and the publish) costs that request a 202, never a message. A redelivered message is
 * resolved again as a no-op and notified again. A message JetStream reports as a repeat of an
 * earlier publish (a client retry within two minutes) was published by some request that may be
 * on another node, so its resolution is watched in the store instead.
 */
export class BusIntake implements MessageSink {
  readonly nodeId = randomBytes(6).toString('hex');
  private readonly waiting = new Map<string, Array<(outcome: MessageOutcome) => void>>();
  private subscription: Subscription | undefined;

  constructor(private readonly options: BusIntakeOptions) {}

  /** Subscribes to this node's notification subject; call once before serving. */
  async start(): Promise<void> {
    const { nc, names } = this.options.bus;
    this.subscription = nc.subscribe(names.resolved(this.nodeId), {
      callback: (err, msg) => {
        if (err !== null) return;
        const note = decodeNotification(msg.string());
        if (note === undefined) return;
        for (const [ws, messageId, outcome] of note) {
          const key = waitKey(ws, messageId);
          const waiters = this.waiting.get(key);
          if (waiters === undefined) continue;
          this.waiting.delete(key);
          for (const w of waiters) w(outcome);
        }
      },
    });
    await nc.flush();
  }

  async submit(ws: Workspace, messages: readonly PreparedMessage[], rejected: readonly RejectedRecord[]): Promise<Map<string, Outcome>> {
    const logged = rejected.length > 0 ? this.options.local.submit(ws, [], rejected) : undefined;
    const unique = new Map<string, PreparedMessage>();
    for (const m of messages) if (!unique.has(m.messageId)) unique.set(m.messageId, m);
    const outcomes = new Map<string, Outcome>();
    if (unique.size > 0) await this.publishAndWait(ws, [...unique.values()], outcomes);
    if (logged !== undefined) await logged;
    return outcomes;
  }

  private async publishAndWait(ws: Workspace, messages: readonly PreparedMessage[], outcomes: Map<string, Outcome>): Promise<void> {
    const { bus, waitMs, metrics } = this.options;
    const deadline = performance.now() + waitMs;
    // Waiters first, so a worker that is faster than JetStream's acknowledgement cannot be missed.
    const resolved = new Map<string, MessageOutcome>();
    const cancel: Array<() => void> = [];
    const all = Promise.all(messages.map((m) => this.expect(ws.id, m.messageId, cancel).then((outcome) => void resolved.set(m.messageId, outcome))));
    const h = headers();
    h.set(NOTIFY_HEADER, bus.names.resolved(this.nodeId));
    const subject = bus.names.intake(ws.id);
    let acks;
    try {
      acks = await Promise.all(messages.map((message) => bus.js.publish(subject, encodeEnvelope({ workspaceId: ws.id, message }), { msgID: dedupeId(ws.id, message.messageId), headers: h })));
    } catch (err) {
      for (const c of cancel) c();
      throw new Error(`the intake stream did not accept the messages: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    metrics?.published.inc(messages.length);
    const repeats = messages.filter((_, i) => acks[i]!.duplicate).map((m) => m.messageId);
    if (repeats.length > 0) void this.watchStore(ws, repeats, deadline);

    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - performance.now()));
    });
    await Promise.race([all, timeout]);
    clearTimeout(timer);
    for (const c of cancel) c();
    let queued = 0;
    for (const m of messages) {
      const outcome = resolved.get(m.messageId) ?? 'queued';
      outcomes.set(m.messageId, outcome);
      if (outcome === 'queued') queued++;
    }
    if (queued > 0) metrics?.queued.inc(queued);
  }

  /** A promise settled by a notification for the message; `cancel` gets its clean-up. */
  private expect(ws: string, messageId: string, cancel: Array<() => void>): Promise<MessageOutcome> {
    return new Promise((resolve) => {
      const key = waitKey(ws, messageId);
      const list = this.waiting.get(key) ?? [];
      list.push(resolve);
      this.waiting.set(key, list);
      cancel.push(() => {
        const now = this.waiting.get(key);
        if (now === undefined) return;
        const rest = now.filter((w) => w !== resolve);
        if (rest.length === 0) this.waiting.delete(key);
        else this.waiting.set(key, rest);
      });
    });
  }

  /** Settles repeats of earlier publishes as `duplicate` once the store holds them. */
  private async watchStore(ws: Workspace, messageIds: readonly string[], deadline: number): Promise<void> {
    let left = [...messageIds];
    while (left.length > 0 && performance.now() < deadline) {
      const stored = await this.options.store.write((tx) => tx.existingMessageIds(ws.id, left));
      for (const id of left) {
        if (!stored.has(id)) continue;
        const key = waitKey(ws.id, id);
        const waiters = this.waiting.get(key) ?? [];
        this.waiting.delete(key);
        for (const w of waiters) w('duplicate');
      }
      left = left.filter((id) => !stored.has(id));
      if (left.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Stops listening for notifications; requests still waiting answer `queued` at their deadline. */
  close(): void {
    this.subscription?.unsubscribe();
  }
}

function waitKey(ws: string, messageId: string): string {
  return `${ws}\0${messageId}`;
}
