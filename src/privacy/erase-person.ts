import { splitIdentifierKey, type IdentifierKey } from '../identity/identifier.ts';
import { forgetMatches } from '../identity/match-forget.ts';
import { reresolve } from '../identity/reresolve.ts';
import { lookupProfile } from '../profile/profile-lookup.ts';
import { changeSet } from '../store/change-set.ts';
import type { IdentifierState, ProfileId, Store, Workspace } from '../store/ports.ts';
import { personNotFound, type PersonNotFound } from './person-lookup.ts';
import { newSuppressionSalt, suppressionHash } from './suppression.ts';

export interface ErasureReport {
  /** The erased profile, and its older ids that resolved only to it. */
  readonly profileIds: readonly ProfileId[];
  /** Identifiers deleted and put on the suppression list (as salted hashes). */
  readonly identifiersSuppressed: number;
  /**
   * Identifiers of the profile that other people's kept messages also carry (a shared tablet):
   * detached from the erased profile and re-resolved with those people, not suppressed.
   */
  readonly identifiersShared: number;
  readonly messagesDeleted: number;
  readonly rejectedDeleted: number;
  readonly historyDeleted: number;
  readonly redirectsChanged: number;
  /** Whether the store confirmed that the deleted bytes are gone from its files (see Store.scrub). */
  readonly scrubbed: { complete: boolean; detail: string };
}

export type EraseOutcome =
  | { ok: true; report: ErasureReport }
  | PersonNotFound;

/**
 * Erases a person, found by any of their identifiers (or `profile_id:...`), in one transaction:
 *
 * - **Messages** attributed to the profile (their highest-priority identifier is the profile's) are
 *   deleted with their bodies, evidence rows, and rejected-log rows with the same message id or
 *   holding one of the erased identifier values as a whole JSON string (case-insensitive).
 *   Messages attributed to someone else that also carry one of the profile's identifiers (a shared
 *   family tablet, a link the rules refused) are that other person's events and stay.
 * - **Identifiers** the kept messages still carry are shared: they are detached and re-resolved
 *   with the people whose messages carry them, and not suppressed (suppressing a shared tablet
 *   would silence the rest of the family). Every other identifier of the profile is deleted and
 *   its salted hash goes on the suppression list, so replaying old messages cannot bring the
 *   person back. Identifiers that only the deleted messages carried (refused links) are deleted.
 * - **The profile** row (traits, consent), its history rows, redirects to it and its older ids
 *   that redirected only to it are deleted; other people's identifiers lose the erased ones from
 *   their co-occurrence lists; the component is re-resolved from what remains, so anyone the
 *   deleted messages had linked splits where the remaining evidence says so.
 *
 * Then the store scrubs its files (`Store.scrub`).
 */
export async function erasePerson(store: Store, ws: Workspace, text: string, now: number): Promise<EraseOutcome> {
  // The profile may merge away between the lookup and the transaction: look again, a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = await lookupProfile(store.read, ws, text);
    if (found.kind !== 'found') {
      return personNotFound(found, {
        quarantined: 'it belongs to no one person, so erase the person by one of their own identifiers',
        split: 'erase each part by its own id',
      });
    }
    const report = await eraseProfile(store, ws, found.profile.id, now);
    if (report === undefined) continue;
    const scrubbed = await store.scrub();
    return { ok: true, report: { ...report, scrubbed } };
  }
  return { ok: false, code: 'not_found', message: `the profile of ${text} kept changing while it was being erased; try again` };
}

async function eraseProfile(store: Store, ws: Workspace, profileId: ProfileId, now: number): Promise<Omit<ErasureReport, 'scrubbed'> | undefined> {
  return store.write(async (tx) => {
    // First: on PostgreSQL this takes the workspace exclusively (see PostgresPrivacyTx).
    const salt = (await tx.privacy.suppressionSalt(ws.id, newSuppressionSalt()))!;
    const [profile] = await tx.loadProfiles(ws.id, [profileId]);
    if (profile === undefined) return undefined;
    const members = await tx.loadComponentMembers(ws.id, [profile.componentId]);
    const own = new Set(members.identifiers.filter((s) => s.profileId === profileId).map((s) => s.key));

    const evidence = await tx.loadEvidence(ws.id, [...own]);
    const erasedMessages = evidence.filter((m) => m.primary !== null && own.has(m.primary));
    const erasedIds = new Set(erasedMessages.map((m) => m.messageId));
    const shared = new Set<IdentifierKey>();
    for (const m of evidence) if (!erasedIds.has(m.messageId)) for (const k of m.keys) if (own.has(k)) shared.add(k);
    const suppressed = [...own].filter((k) => !shared.has(k));

    // Other people's identifiers in the deleted messages: kept if other messages still carry them.
    const others = new Set<IdentifierKey>();
    for (const m of erasedMessages) for (const k of m.keys) if (!own.has(k)) others.add(k);
    const carried = new Set<IdentifierKey>();
    for (const m of await tx.loadEvidence(ws.id, [...others])) if (!erasedIds.has(m.messageId)) for (const k of m.keys) carried.add(k);
    const orphans = [...others].filter((k) => !carried.has(k));
    const survivors = [...others].filter((k) => carried.has(k));

    const counts = await tx.privacy.erase(ws.id, {
      messageIds: [...erasedIds],
      // Invalid messages of the person never got a profile: found by an identifier value as a
      // whole JSON string (case-insensitive), e.g. `"jane@example.com"`.
      rejectedContaining: suppressed.map((k) => JSON.stringify(splitIdentifierKey(k).value).toLowerCase()),
      profileIds: [profileId],
      suppress: suppressed.map((k) => suppressionHash(salt, k)),
      at: now,
    });

    // What stays must not name what went: shared identifiers leave the profile, and co-occurrence
    // lists (quarantine peers) drop the erased identifiers. Re-resolution recomputes the rest.
    const gone = new Set<IdentifierKey>([...suppressed, ...orphans]);
    const touched = await tx.loadIdentifiers(ws.id, [...shared, ...survivors]);
    const rewritten: IdentifierState[] = touched.map((s) => ({
      ...s,
      profileId: shared.has(s.key) ? null : s.profileId,
      peers: Object.fromEntries(Object.entries(s.peers).map(([type, keys]) => [type, keys.filter((k) => !gone.has(k))])),
    }));
    await tx.apply(
      ws.id,
      changeSet({
        identifiers: rewritten,
        deletedIdentifiers: [...gone],
        deletedProfiles: [profileId],
        deletedComponents: [profile.componentId],
      }),
    );
    // Personal records kept for matching go too; people their links joined are re-resolved.
    const partners = await forgetMatches(tx, ws.id, [...own, ...orphans]);
    await reresolve(tx, ws, { seeds: [...shared, ...survivors, ...partners], components: [profile.componentId], now, cause: null, reason: { cause: 'erasure' } });

    return {
      profileIds: counts.profileIds,
      identifiersSuppressed: suppressed.length,
      identifiersShared: shared.size,
      messagesDeleted: counts.messages,
      rejectedDeleted: counts.rejected,
      historyDeleted: counts.history,
      redirectsChanged: counts.redirects,
    };
  });
}
