import type { IdentityRules } from '../identity/rules.ts';
import { resolveBatch, type MessageOutcome, type PreparedMessage } from '../identity/resolve-batch.ts';
import { changeSet } from '../store/change-set.ts';
import type { RejectedRecord, Store, WorkspaceId } from '../store/ports.ts';

/** One workspace's share of a group commit. */
export interface WorkspaceBatch {
  readonly ws: { readonly id: WorkspaceId; readonly rules: IdentityRules };
  readonly messages: readonly PreparedMessage[];
  readonly rejected: readonly RejectedRecord[];
}

/**
 * Where group commits are executed: resolves every batch and stores it, all in one transaction,
 * and answers each batch's message outcomes in order. The in-process writer runs on the caller's
 * thread; the worker writer (embedded store) runs the same code on a thread of its own.
 */
export interface BatchWriter {
  write(batches: readonly WorkspaceBatch[], now: number): Promise<Array<Map<string, MessageOutcome>>>;
  close(): Promise<void>;
}

export function inProcessWriter(store: Store): BatchWriter {
  return {
    write: (batches, now) =>
      store.write(async (tx) => {
        const out: Array<Map<string, MessageOutcome>> = [];
        for (const b of batches) {
          if (b.rejected.length > 0) await tx.apply(b.ws.id, changeSet({ rejected: b.rejected }));
          out.push(b.messages.length > 0 ? (await resolveBatch(tx, b.ws, b.messages, now)).outcomes : new Map());
        }
        return out;
      }),
    close: async () => undefined,
  };
}
