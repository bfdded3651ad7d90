import type { IdentifierState, ProfileId, ProfileState, ReadPort, Workspace } from '../store/ports.ts';
import { identifierKey, parseIdentifierKey, type IdentifierKey } from '../identity/identifier.ts';
import { normaliseIdentifier } from '../identity/normalise-identifier.ts';
import { PROFILE_ID_PATTERN } from '../identity/profile-id.ts';

export type Lookup =
  | { kind: 'found'; profile: ProfileState; via: IdentifierKey | ProfileId }
  | { kind: 'invalid'; message: string }
  | { kind: 'not_found'; message: string }
  | { kind: 'quarantined'; key: IdentifierKey; message: string }
  | { kind: 'split'; ids: readonly ProfileId[]; message: string };

/**
 * Finds the profile a user means by `type:value`: any identifier type (the value normalised by the
 * workspace's rules, so `email:Jane@Example.COM` works), or `profile_id:<id>`, including ids that
 * were merged away (followed to the survivor) or split (reported with the parts).
 */
export async function lookupProfile(read: ReadPort, ws: Workspace, text: string): Promise<Lookup> {
  const parsed = parseIdentifierKey(text);
  if (parsed === undefined) return { kind: 'invalid', message: `"${text}" is not TYPE:VALUE (for example email:jane@example.com)` };
  if (parsed.type === 'profile_id') return lookupProfileId(read, ws, parsed.value.trim() as ProfileId);
  const normal = normaliseIdentifier(parsed.type, parsed.value, ws.rules);
  if (!normal.ok) return { kind: 'not_found', message: `no profile: ${normal.reason}` };
  const key = identifierKey(parsed.type, normal.value);
  const state = await read.findIdentifier(ws.id, key);
  if (state === undefined) return { kind: 'not_found', message: `no profile has the identifier ${key}` };
  return profileOfIdentifier(read, ws, state);
}

async function profileOfIdentifier(read: ReadPort, ws: Workspace, state: IdentifierState): Promise<Lookup> {
  if (state.quarantined) {
    return { kind: 'quarantined', key: state.key, message: `${state.key} is quarantined: it was seen with too many distinct people to identify anyone` };
  }
  if (state.profileId === null) return { kind: 'not_found', message: `${state.key} belongs to no profile` };
  const profile = await read.loadProfile(ws.id, state.profileId);
  if (profile === undefined) return { kind: 'not_found', message: `${state.key} belongs to no profile` };
  return { kind: 'found', profile, via: state.key };
}

async function lookupProfileId(read: ReadPort, ws: Workspace, id: ProfileId): Promise<Lookup> {
  if (!PROFILE_ID_PATTERN.test(id)) return { kind: 'invalid', message: `"${id}" is not a profile id` };
  // Follow redirects a bounded number of hops: merges chain (A into B, B into C).
  let current: readonly ProfileId[] = [id];
  for (let hop = 0; hop < 32; hop++) {
    if (current.length !== 1) break;
    const only = current[0]!;
    const live = await read.loadProfile(ws.id, only);
    if (live !== undefined) return { kind: 'found', profile: live, via: id };
    const next = await read.redirectOf(ws.id, only);
    if (next === undefined) return { kind: 'not_found', message: `no profile has the id ${id}` };
    current = next;
  }
  if (current.length === 0) return { kind: 'not_found', message: `profile ${id} no longer exists: its identifiers were deleted` };
  const live: ProfileId[] = [];
  for (const p of current) {
    const found = await lookupProfileId(read, ws, p);
    if (found.kind === 'found') live.push(found.profile.id);
  }
  return { kind: 'split', ids: live, message: `profile ${id} was split into ${live.join(', ')}` };
}
