import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { millis, nanos } from '@nats-io/transport-node';
import type { App } from '../app.ts';
import type { RejectedRecord, Workspace, WorkspaceId } from '../store/ports.ts';
import type { MessageOutcome } from '../identity/resolve-batch.ts';
import type { Bus } from './nats-bus.ts';
import type { BusMetrics } from './bus-metrics.ts';
import { decodeEnvelope, NOTIFY_HEADER } from './intake-envelope.ts';
import { encodeNotification, type ResolvedEntry } from './resolved-notification.ts';
import { HEARTBEAT_MS, openHeartbeats, type WorkerBeat } from './worker-heartbeat.ts';

export interface BusWorkerOptions {
  readonly app: App;
  readonly bus: Bus;
  readonly metrics: BusMetrics;
  /** Messages pulled per request from JetStream (default 1000); up to four times this are in flight. */
  readonly batchSize?: number;
  /** One line per notable event (start, poison message, stop). */
  readonly log?: (line: string) => void;
}

/** Deliveries of one message before it is given up and put in the rejected log. */
const MAX_ATTEMPTS = 10;
const WORKSPACE_TTL_MS = 5000;
const MAX_REJECTED_BODY = 8 * 1024;

/**
 * A resolver worker (`kith worker`): pulls from the intake stream's durable consumer, which every
 * worker shares (JetStream hands each message to one of them), resolves what it pulled through
 * the group committer (one PostgreSQL transaction per group, the same resolver path as an API node
 * without a bus), and acknowledges each message only after the commit that holds it. A worker that
 * dies before acknowledging leaves its messages to be redelivered after the ack wait; resolving a
 * message again is a no-op (message-id idempotency), so redelivery changes nothing.
 *
 * A message that keeps failing is retried with a growing delay (a database outage is survived), and
 * after MAX_ATTEMPTS deliveries it goes to the workspace's rejected log with the reason and leaves
 * the stream, so it cannot block the river.
 */
export class BusWorker {
  readonly id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private inFlight = 0;
  private slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private notes = new Map<string, ResolvedEntry[]>();
  private notesScheduled = false;
  private readonly workspaces = new Map<string, { at: number; ws: Promise<Workspace | undefined> }>();
  private heartbeat: { kv: KV; timer: NodeJS.Timeout } | undefined;
  /** Messages pulled and not yet acknowledged, kept alive while a slow commit runs. */
  private readonly held = new Set<JsMsg>();
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private counts = { resolved: 0, duplicates: 0, failed: 0 };
  private lastBeat = { at: Date.now(), resolved: 0 };
  private readonly batchSize: number;
  private readonly log: (line: string) => void;

  constructor(private readonly options: BusWorkerOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.log = options.log ?? (() => undefined);
  }

  /** Starts pulling; resolves once the worker is consuming and its heartbeat is out. */
  async start(): Promise<void> {
    const { bus } = this.options;
    const kv = await openHeartbeats(bus);
    await this.beat(kv);
    this.heartbeat = { kv, timer: setInterval(() => void this.beat(kv).catch(() => undefined), HEARTBEAT_MS) };
    const consumer = await bus.js.consumers.get(bus.names.stream, bus.names.consumer);
    // A commit slower than the ack wait (a lock queue, a big replay) must not hand the messages to
    // another worker meanwhile: tell JetStream they are still being worked on.
    const ackWaitMs = millis((await consumer.info()).config.ack_wait ?? nanos(30_000));
    this.keepAlive = setInterval(() => {
      for (const m of this.held) m.working();
    }, Math.max(250, ackWaitMs / 3));
    this.messages = await consumer.consume({ max_messages: this.batchSize });
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      if (this.stopping) {
        msg.nak();
        continue;
      }
      while (this.inFlight >= 4 * this.batchSize) await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      this.inFlight += 1;
      this.held.add(msg);
      void this.handle(msg).finally(() => {
        this.held.delete(msg);
        this.inFlight -= 1;
        this.slotWaiters.shift()?.();
        if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async handle(msg: JsMsg): Promise<void> {
    const { app, metrics } = this.options;
    const attempt = msg.info.deliveryCount;
    if (attempt > 1) metrics.redelivered.inc();
    const text = msg.string();
    const decoded = decodeEnvelope(text);
    if (!decoded.ok) {
      await this.giveUp(msg, workspaceOfSubject(msg.subject), null, 'invalid_envelope', `not a kith intake message: ${decoded.reason}`, text);
      return;
    }
    const { workspaceId, message } = decoded.envelope;
    const ws = await this.workspace(workspaceId).catch(() => undefined);
    if (ws === undefined) {
      // No such workspace (deleted, or a stranger's message): nothing to resolve it into.
      this.log(`kith worker: dropping message ${message.messageId}: no workspace ${workspaceId}`);
      msg.term('no such workspace');
      return;
    }
    try {
      const outcomes = await app.committer.submit(ws, [message], []);
      const outcome: MessageOutcome = outcomes.get(message.messageId) ?? 'duplicate';
      msg.ack();
      metrics.resolved.inc({ outcome });
      this.counts.resolved += 1;
      if (outcome === 'duplicate') this.counts.duplicates += 1;
      const notify = msg.headers?.get(NOTIFY_HEADER);
      if (notify !== undefined && notify !== '') this.notify(notify, [ws.id, message.messageId, outcome]);
    } catch (err) {
      metrics.failed.inc();
      this.counts.failed += 1;
      const reason = err instanceof Error ? err.message : String(err);
      if (attempt >= MAX_ATTEMPTS) {
        await this.giveUp(msg, ws.id, message.messageId, 'resolve_failed', `could not be resolved after ${attempt} attempts: ${reason}`, message.body);
      } else {
        this.log(`kith worker: message ${message.messageId} failed (attempt ${attempt}), retrying: ${reason}`);
        msg.nak(Math.min(30_000, 250 * 2 ** attempt));
      }
    }
  }

  /** Puts a message in its workspace's rejected log and takes it off the stream. */
  private async giveUp(msg: JsMsg, workspaceId: string | undefined, messageId: string | null, code: string, reason: string, body: string): Promise<void> {
    this.log(`kith worker: giving up on ${messageId ?? `stream message ${msg.seq}`}: ${reason}`);
    const ws = workspaceId === undefined ? undefined : await this.workspace(workspaceId).catch(() => undefined);
    if (ws !== undefined) {
      const record: RejectedRecord = {
        receivedAt: Date.now(),
        index: null,
        messageId,
        code,
        reason,
        field: null,
        body: body.length <= MAX_REJECTED_BODY ? body : `${body.slice(0, MAX_REJECTED_BODY)}…`,
        source: 'bus',
      };
      try {
        await this.options.app.committer.submit(ws, [], [record]);
      } catch {
        // The rejected log cannot be written either (database down): keep the message for later.
        msg.nak(30_000);
        return;
      }
    }
    msg.term(reason.slice(0, 200));
  }

  private workspace(id: string): Promise<Workspace | undefined> {
    const now = Date.now();
    const cached = this.workspaces.get(id);
    if (cached !== undefined && now - cached.at < WORKSPACE_TTL_MS) return cached.ws;
    const ws = this.options.app.workspaces.byId(id as WorkspaceId);
    this.workspaces.set(id, { at: now, ws });
    ws.catch(() => this.workspaces.delete(id));
    return ws;
  }

  /** Queues a notification for the API node that waits; sent once per turn of the event loop. */
  private notify(subject: string, entry: ResolvedEntry): void {
    const list = this.notes.get(subject);
    if (list === undefined) this.notes.set(subject, [entry]);
    else list.push(entry);
    if (this.notesScheduled) return;
    this.notesScheduled = true;
    setImmediate(() => this.flushNotes());
  }

  private flushNotes(): void {
    this.notesScheduled = false;
    const notes = this.notes;
    this.notes = new Map();
    for (const [subject, entries] of notes) {
      try {
        this.options.bus.nc.publish(subject, encodeNotification(entries));
      } catch {
        // At most once: the API node answers 202 at its deadline instead.
      }
    }
  }

  private async beat(kv: KV): Promise<void> {
    const now = Date.now();
    const seconds = Math.max(0.001, (now - this.lastBeat.at) / 1000);
    const beat: WorkerBeat = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      startedAt: this.startedAt,
      at: now,
      resolved: this.counts.resolved,
      duplicates: this.counts.duplicates,
      failed: this.counts.failed,
      rate: (this.counts.resolved - this.lastBeat.resolved) / seconds,
    };
    this.lastBeat = { at: now, resolved: this.counts.resolved };
    await kv.put(this.id, JSON.stringify(beat));
  }

  /**
   * Graceful stop (SIGTERM): pulls no more, hands back what was pulled but not started (nak, so
   * another worker gets it at once), finishes and acknowledges what is in progress, and removes
   * its heartbeat.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.options.app.committer.flushed();
    clearInterval(this.keepAlive);
    this.flushNotes();
    if (this.heartbeat !== undefined) {
      clearInterval(this.heartbeat.timer);
      await this.heartbeat.kv.delete(this.id).catch(() => undefined);
    }
  }
}

/** `<prefix>.in.<workspaceId>` → the workspace id. */
function workspaceOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length >= 3 && parts[parts.length - 2] === 'in' ? parts[parts.length - 1] : undefined;
}
