import type { IdentityRules } from '../identity/rules.ts';
import { resolveBatch, type MessageOutcome, type PreparedMessage, type ResolveStats } from '../identity/resolve-batch.ts';
import { changeSet } from '../store/change-set.ts';
import type { RejectedRecord, Store, WorkspaceId } from '../store/ports.ts';

/** One workspace's share of a group commit. */
export interface WorkspaceBatch {
  readonly ws: { readonly id: WorkspaceId; readonly rules: IdentityRules };
  readonly messages: readonly PreparedMessage[];
  readonly rejected: readonly RejectedRecord[];
}

export interface BatchWritten {
  /** Per batch, in order: each message's outcome. */
  readonly outcomes: Array<Map<string, MessageOutcome>>;
  readonly stats: ResolveStats;
}

/**
 * Where group commits are executed: resolves every batch and stores it, all in one transaction,
 * and answers each batch's message outcomes in order. The in-process writer runs on the caller's
 * thread; the worker writer (embedded store) runs the same code on a thread of its own.
 */
export interface BatchWriter {
  write(batches: readonly WorkspaceBatch[], now: number): Promise<BatchWritten>;
  close(): Promise<void>;
}

export function inProcessWriter(store: Store): BatchWriter {
  return {
    write: (batches, now) =>
      store.write(async (tx) => {
        const outcomes: Array<Map<string, MessageOutcome>> = [];
        const stats: ResolveStats = { merges: 0, splits: 0, quarantines: 0, replays: 0, fastPath: 0 };
        for (const b of batches) {
          if (b.rejected.length > 0) await tx.apply(b.ws.id, changeSet({ rejected: b.rejected }));
          if (b.messages.length === 0) {
            outcomes.push(new Map());
            continue;
          }
          const result = await resolveBatch(tx, b.ws, b.messages, now);
          outcomes.push(result.outcomes);
          for (const k of Object.keys(stats) as Array<keyof ResolveStats>) stats[k] += result.stats[k];
        }
        return { outcomes, stats };
      }),
    close: async () => undefined,
  };
}
