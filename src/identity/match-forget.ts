import type { WorkspaceId, WriteTx } from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';

/**
 * Removes what matching holds about identifiers that are deleted or erased: their personal records
 * (names, birth dates, addresses), their blocking keys, and every scored pair naming them, people's
 * decisions included (the pair's evidence is retracted with the identifier). Returns the partners
 * whose links went, to re-resolve.
 */
export async function forgetMatches(tx: WriteTx, ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierKey[]> {
  if (keys.length === 0) return [];
  await tx.match.deleteRecords(ws, keys);
  const pairs = await tx.match.pairsOf(ws, keys);
  await tx.match.deletePairs(ws, pairs.map((p) => p.id));
  const gone = new Set(keys);
  const partners = new Set<IdentifierKey>();
  for (const p of pairs) {
    if (p.status !== 'linked' && p.status !== 'accepted') continue;
    for (const k of [p.a, p.b]) if (!gone.has(k)) partners.add(k);
  }
  return [...partners];
}
