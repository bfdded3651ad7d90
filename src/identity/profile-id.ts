import { createHash } from 'node:crypto';
import type { ProfileId, WorkspaceId } from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';

/**
 * A profile's id is a pure function of its founder (the identifier with the earliest evidence), so
 * re-resolving the same evidence gives the same id, and a merge keeps the older profile's id.
 */
export function profileIdFor(ws: WorkspaceId, founder: IdentifierKey): ProfileId {
  const digest = createHash('sha256').update(ws).update('\0').update(founder).digest('base64url');
  return `prf_${digest.slice(0, 22)}` as ProfileId;
}

export const PROFILE_ID_PATTERN = /^prf_[A-Za-z0-9_-]{22}$/;
