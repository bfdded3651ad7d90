import { createHash, randomBytes } from 'node:crypto';
import type { IdentifierKey } from '../identity/identifier.ts';
import type { MessageOutcome, PreparedMessage } from '../identity/resolve-batch.ts';
import { changeSet } from '../store/change-set.ts';
import type { RejectedRecord, WorkspaceId, WriteTx } from '../store/ports.ts';

/**
 * The suppression list keeps erased identifiers only as `sha256(salt, key)`, with a random salt per
 * workspace (created at its first erasure and stored beside the list): enough to recognise the
 * identifier when an old message carrying it is delivered again, useless for listing who was
 * erased without the salt, and never comparable across workspaces.
 */
export function suppressionHash(salt: string, key: IdentifierKey): string {
  return createHash('sha256').update(salt).update('\0').update(key).digest('hex');
}

export function newSuppressionSalt(): string {
  return randomBytes(32).toString('base64url');
}

export const SUPPRESSED_REASON = 'the message carries an identifier of a person who was erased; it was dropped and its body not kept';

/**
 * Marks the messages of a batch that carry any suppressed identifier as `suppressed` in `outcomes`
 * (the resolver then skips them, as it skips duplicates) and logs each in the rejected log
 * without its body. A replay or redelivery of an erased person's old messages therefore stores
 * nothing and cannot bring the person back. Workspaces that never erased anyone pay one lookup.
 */
export async function markSuppressed(
  tx: WriteTx,
  ws: WorkspaceId,
  batch: readonly PreparedMessage[],
  outcomes: Map<string, MessageOutcome>,
): Promise<void> {
  if (batch.length === 0) return;
  const salt = await tx.privacy.suppressionSalt(ws, null);
  if (salt === null) return;
  const hashOf = new Map<IdentifierKey, string>();
  for (const m of batch) for (const k of m.keys) if (!hashOf.has(k)) hashOf.set(k, suppressionHash(salt, k));
  const hits = await tx.privacy.suppressedHashes(ws, [...new Set(hashOf.values())]);
  if (hits.size === 0) return;
  const rejected: RejectedRecord[] = [];
  for (const m of batch) {
    if (outcomes.has(m.messageId) || !m.keys.some((k) => hits.has(hashOf.get(k)!))) continue;
    outcomes.set(m.messageId, 'suppressed');
    rejected.push({ receivedAt: m.receivedAt, index: null, messageId: m.messageId, code: 'suppressed', reason: SUPPRESSED_REASON, field: null, body: '', source: m.source });
  }
  await tx.apply(ws, changeSet({ rejected }));
}
