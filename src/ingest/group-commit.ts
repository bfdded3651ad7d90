import type { RejectedRecord, WorkspaceId } from '../store/ports.ts';
import type { IdentityRules } from '../identity/rules.ts';
import type { MessageOutcome, PreparedMessage, ResolveStats } from '../identity/resolve-batch.ts';
import type { BatchWriter } from './batch-writer.ts';

interface Pending {
  readonly ws: { id: WorkspaceId; rules: IdentityRules };
  readonly messages: readonly PreparedMessage[];
  readonly rejected: readonly RejectedRecord[];
  readonly resolve: (outcomes: Map<string, MessageOutcome>) => void;
  readonly reject: (err: unknown) => void;
}

export interface GroupCommitOptions {
  /** Upper bound on messages resolved in one transaction. */
  readonly maxMessages?: number;
  readonly now?: () => number;
  /** Groups handed to the writer and not yet acknowledged, at most (default 4). */
  readonly maxInFlight?: number;
  /**
   * How long to wait for more requests before committing a small group (like PostgreSQL's
   * commit_delay): one fsync then covers several requests. 0 commits as soon as the event loop is
   * free (the default: with groups in flight, waiting only adds latency). Groups of `minMessages` or
   * more never wait.
   */
  readonly delayMs?: number;
  readonly minMessages?: number;
  /**
   * With fewer groups than this at the writer, a request is handed over at once rather than on the
   * next turn of the event loop (default 2: one running, one ready to run next).
   */
  readonly eagerInFlight?: number;
  /** Called after each committed transaction, for metrics. */
  readonly onCommit?: (info: { requests: number; messages: number; ms: number; stats: ResolveStats }) => void;
}

/**
 * Group commit: requests that arrive while a transaction is running wait, and are then resolved
 * together in the next one. Each caller's promise settles only after the commit that holds its
 * messages, so an acknowledgement always means durable and visible (invariants 3 and 4). When a
 * shared transaction fails, each request is retried alone, so one poisoned request cannot fail
 * its neighbours.
 */
export class GroupCommitter {
  private queue: Pending[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly maxMessages: number;
  private readonly maxInFlight: number;
  private readonly delayMs: number;
  private readonly minMessages: number;
  private readonly eagerInFlight: number;
  private readonly now: () => number;
  private idle: Array<() => void> = [];

  constructor(
    private readonly writer: BatchWriter,
    private readonly options: GroupCommitOptions = {},
  ) {
    this.maxMessages = options.maxMessages ?? 5000;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.now = options.now ?? Date.now;
    this.delayMs = options.delayMs ?? 0;
    this.minMessages = options.minMessages ?? 1000;
    this.eagerInFlight = Math.min(this.maxInFlight, options.eagerInFlight ?? 2);
  }

  /** Resolves and stores `messages`, and keeps `rejected` in the log, in the next group commit. */
  submit(
    ws: { id: WorkspaceId; rules: IdentityRules },
    messages: readonly PreparedMessage[],
    rejected: readonly RejectedRecord[] = [],
  ): Promise<Map<string, MessageOutcome>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ws, messages, rejected, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Dispatches on the next turn of the event loop rather than now, so that every request whose body
   * has already arrived is parsed and queued first and joins the same group.
   */
  private schedule(): void {
    // While the writer has less than a group in hand besides the one it is running, hand this one
    // over now: waiting for more would leave it idle (and with a few clients, requests answered
    // together come back together, so gathering would keep the HTTP side and the writer taking
    // turns instead of working at the same time).
    if (!this.scheduled && this.delayMs <= 0 && this.inFlight < this.eagerInFlight && this.queue.length > 0) {
      this.dispatch();
      return;
    }
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    setImmediate(() => {
      void this.gather().then(() => {
        this.scheduled = false;
        this.dispatch();
      });
    });
  }

  /** Waits up to `delayMs` for the queue to reach `minMessages`. */
  private async gather(): Promise<void> {
    if (this.delayMs <= 0) return;
    const until = performance.now() + this.delayMs;
    while (this.queued() < this.minMessages && performance.now() < until) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0.5));
    }
  }

  private queued(): number {
    let n = 0;
    for (const p of this.queue) n += p.messages.length;
    return n;
  }

  /**
   * Sends queued requests to the writer as groups, with up to `maxInFlight` groups outstanding: the
   * writer runs their transactions one after another, but a group's durability wait (the WAL
   * sync) overlaps with the next group's resolution.
   */
  private dispatch(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const group: Pending[] = [];
      let count = 0;
      while (this.queue.length > 0 && (group.length === 0 || count + this.queue[0]!.messages.length <= this.maxMessages)) {
        const p = this.queue.shift()!;
        group.push(p);
        count += p.messages.length;
      }
      this.inFlight += 1;
      void this.commit(group, count).finally(() => {
        this.inFlight -= 1;
        this.schedule();
        if (this.inFlight === 0 && this.queue.length === 0 && !this.scheduled) {
          const waiters = this.idle;
          this.idle = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  /** Resolves once every submitted request has been committed or failed. */
  async flushed(): Promise<void> {
    if (this.inFlight === 0 && !this.scheduled && this.queue.length === 0) return;
    await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  /** Waits for queued work, then stops the writer. */
  async close(): Promise<void> {
    await this.flushed();
    await this.writer.close();
  }

  private async commit(group: Pending[], count: number): Promise<void> {
    const started = performance.now();
    try {
      const byWorkspace = new Map<WorkspaceId, Pending[]>();
      for (const p of group) byWorkspace.set(p.ws.id, [...(byWorkspace.get(p.ws.id) ?? []), p]);
      const batches = [...byWorkspace.values()].map((pendings) => ({
        ws: pendings[0]!.ws,
        messages: pendings.flatMap((p) => p.messages),
        rejected: pendings.flatMap((p) => p.rejected),
      }));
      const { outcomes, stats } = await this.writer.write(batches, this.now());
      const results = new Map([...byWorkspace.keys()].map((id, i) => [id, outcomes[i]!]));
      this.options.onCommit?.({ requests: group.length, messages: count, ms: performance.now() - started, stats });
      // The same message id twice in one group: the first occurrence owns it, later ones are duplicates.
      const claimed = new Set<string>();
      for (const p of group) {
        const all = results.get(p.ws.id)!;
        const mine = new Map<string, MessageOutcome>();
        for (const m of p.messages) {
          const claim = `${p.ws.id}\0${m.messageId}`;
          if (!mine.has(m.messageId)) mine.set(m.messageId, claimed.has(claim) ? 'duplicate' : (all.get(m.messageId) ?? 'duplicate'));
          claimed.add(claim);
        }
        p.resolve(mine);
      }
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
      for (const p of group) await this.commit([p], p.messages.length);
    }
  }
}
