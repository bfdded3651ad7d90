import type { IdentifierKey } from '../identity/identifier.ts';
import type { FirstEvidence, ReadPort, WorkspaceId } from '../store/ports.ts';

/** An identifier with where and when it was first seen. */
export interface SeenIdentifier {
  readonly key: IdentifierKey;
  /**
   * The earliest stored message carrying it. Undefined only when no stored message carries it any
   * more (an erasure committed between two reads), which a profile's identifier otherwise cannot be.
   */
  readonly first: FirstEvidence | undefined;
}

/**
 * Identifiers with their first evidence, oldest first (then by key). First evidence is not stored
 * on identifiers (the resolver would rewrite a row for every late message older than it); it is
 * read from the evidence here, in one query for all of `keys`.
 */
export async function firstSeen(read: ReadPort, ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<SeenIdentifier[]> {
  return orderByFirstSeen(keys, await read.firstEvidence(ws, keys));
}

/** `keys` with their entries in `found`, oldest first (then by key); unknown ones last. */
export function orderByFirstSeen(keys: readonly IdentifierKey[], found: ReadonlyMap<IdentifierKey, FirstEvidence>): SeenIdentifier[] {
  const at = (s: SeenIdentifier): number => s.first?.t ?? Number.POSITIVE_INFINITY;
  return keys
    .map((key) => ({ key, first: found.get(key) }))
    .sort((a, b) => (at(a) === at(b) ? (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) : at(a) < at(b) ? -1 : 1));
}
