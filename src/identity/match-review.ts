import type { MatchPair } from '../store/match-ports.ts';
import type { ProfileId, ReadPort, Store, Workspace } from '../store/ports.ts';
import { toMatchInput } from './match-records.ts';
import { reresolve } from './reresolve.ts';

export type ReviewDecision = 'accept' | 'reject';

export type ReviewOutcome =
  | { ok: true; pair: MatchPair; linked: boolean; profiles: { a: ProfileId | null; b: ProfileId | null } }
  | { ok: false; code: 'not_found' | 'already_decided'; message: string };

/**
 * A person's decision on a scored pair. Accepting links the two (evidence of kind manual, still
 * subject to merge protection); rejecting records that they must never be in one profile, which
 * re-resolution honours from then on. Pairs in the queue and automatic links can both be decided
 * (rejecting an automatic link undoes it). Deciding the same way twice changes nothing.
 */
export async function decideReview(store: Store, ws: Workspace, id: string, decision: ReviewDecision, now: number): Promise<ReviewOutcome> {
  return store.write(async (tx) => {
    const pair = await tx.match.pairById(ws.id, id);
    if (pair === undefined) return { ok: false as const, code: 'not_found' as const, message: `no scored pair ${id} in this workspace` };
    const status = decision === 'accept' ? 'accepted' : 'rejected';
    if (pair.status !== status) {
      if (pair.status === 'accepted' || pair.status === 'rejected') {
        return { ok: false as const, code: 'already_decided' as const, message: `pair ${id} was already ${pair.status}` };
      }
      await tx.match.savePairs(ws.id, [{ ...pair, status, decidedAt: now }]);
      await reresolve(tx, ws, { seeds: [pair.a, pair.b], components: [], now, cause: null, reason: { review: `${decision}ed ${id}` } });
    }
    const after = (await tx.match.pairById(ws.id, id))!;
    const states = new Map((await tx.loadIdentifiers(ws.id, [pair.a, pair.b])).map((s) => [s.key, s.profileId]));
    const a = states.get(pair.a) ?? null;
    const b = states.get(pair.b) ?? null;
    return { ok: true as const, pair: after, linked: a !== null && a === b, profiles: { a, b } };
  });
}

/** A scored pair as the review queue shows it: score, weights, both records and current profiles. */
export interface PairView {
  readonly id: string;
  readonly status: MatchPair['status'];
  readonly a: string;
  readonly b: string;
  readonly probability: number;
  readonly weight: number;
  readonly model_version: string;
  readonly attributes: MatchPair['attributes'];
  readonly records: { readonly a: Record<string, string>; readonly b: Record<string, string> };
  readonly profiles: { readonly a: ProfileId | null; readonly b: ProfileId | null };
  readonly created_at: string;
  readonly decided_at: string | null;
}

/** Views of pairs with their records and the profiles their identifiers are in now. */
export async function describePairs(read: ReadPort, ws: Workspace, pairs: readonly MatchPair[]): Promise<PairView[]> {
  const keys = [...new Set(pairs.flatMap((p) => [p.a, p.b]))];
  const records = new Map((await read.match.loadRecords(ws.id, keys)).map((r) => [r.key, toMatchInput(r).values as Record<string, string>]));
  const profiles = new Map((await read.loadIdentifiers(ws.id, keys)).map((s) => [s.key, s.profileId]));
  return pairs.map((p) => ({
    id: p.id,
    status: p.status,
    a: p.a,
    b: p.b,
    probability: p.probability,
    weight: p.weight,
    model_version: p.modelVersion,
    attributes: p.attributes,
    records: { a: records.get(p.a) ?? {}, b: records.get(p.b) ?? {} },
    profiles: { a: profiles.get(p.a) ?? null, b: profiles.get(p.b) ?? null },
    created_at: new Date(p.createdAt).toISOString(),
    decided_at: p.decidedAt === null ? null : new Date(p.decidedAt).toISOString(),
  }));
}
