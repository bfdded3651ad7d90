import type { ProfileId, Store, Workspace } from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';
import { reresolve } from './reresolve.ts';
import { forgetMatches } from './match-forget.ts';
import { changeSet } from '../store/change-set.ts';

export type DeleteOutcome =
  | { ok: true; profileId: ProfileId; resultingProfiles: ProfileId[] }
  | { ok: false; code: 'not_found' | 'not_in_profile'; message: string };

/**
 * Removes an identifier from a profile: its evidence is retracted from every message, and the
 * component it belonged to is re-resolved from what remains, so the profile splits wherever that
 * identifier was the only thing holding it together (invariant 5). Later messages that carry the
 * identifier again are new evidence and link it again; to keep a value out for good, add it to
 * the workspace's blocklist.
 */
export async function deleteIdentifier(store: Store, ws: Workspace, profileId: ProfileId, key: IdentifierKey, now: number): Promise<DeleteOutcome> {
  return store.write(async (tx) => {
    const [state] = await tx.loadIdentifiers(ws.id, [key]);
    if (state === undefined) return { ok: false, code: 'not_found', message: `no identifier ${key}` };
    if (state.profileId !== profileId) return { ok: false, code: 'not_in_profile', message: `${key} does not belong to profile ${profileId}` };
    const [profile] = await tx.loadProfiles(ws.id, [profileId]);
    const members = profile === undefined ? [] : (await tx.loadComponentMembers(ws.id, [profile.componentId])).identifiers;
    await tx.apply(
      ws.id,
      changeSet({
        deletedIdentifiers: [key],
        retractions: [key],
        history: [{ kind: 'identifier_deleted', profileId, related: [], at: now, messageId: null, detail: { identifier: key } }],
      }),
    );
    const partners = ws.rules.matching === undefined ? [] : await forgetMatches(tx, ws.id, [key]);
    const seeds = [...members.map((s) => s.key).filter((k) => k !== key), ...partners];
    await reresolve(tx, ws, {
      seeds,
      components: profile === undefined ? [] : [profile.componentId],
      now,
      cause: null,
      reason: { deletedIdentifier: key },
    });
    const after = await tx.loadIdentifiers(ws.id, seeds);
    const resulting = [...new Set(after.map((s) => s.profileId).filter((p): p is ProfileId => p !== null))].sort();
    return { ok: true, profileId, resultingProfiles: resulting };
  });
}
