import type { Lookup } from '../profile/profile-lookup.ts';
import type { ProfileId } from '../store/ports.ts';

/** Why a person could not be found as one profile, in the codes the privacy routes and commands answer with. */
export interface PersonNotFound {
  readonly ok: false;
  readonly code: 'invalid_identifier' | 'not_found' | 'quarantined' | 'profile_split';
  readonly message: string;
  readonly profiles?: readonly ProfileId[];
}

/**
 * The answer for a lookup that found no single profile. `advice` is appended to the message of a
 * quarantined identifier or a split profile id, to say what to do instead.
 */
export function personNotFound(found: Exclude<Lookup, { kind: 'found' }>, advice: { quarantined?: string; split?: string } = {}): PersonNotFound {
  const withAdvice = (message: string, extra: string | undefined): string => (extra === undefined ? message : `${message}; ${extra}`);
  switch (found.kind) {
    case 'invalid':
      return { ok: false, code: 'invalid_identifier', message: found.message };
    case 'not_found':
      return { ok: false, code: 'not_found', message: found.message };
    case 'quarantined':
      return { ok: false, code: 'quarantined', message: withAdvice(found.message, advice.quarantined) };
    case 'split':
      return { ok: false, code: 'profile_split', message: withAdvice(found.message, advice.split), profiles: found.ids };
    default: {
      const never: never = found;
      throw new Error(`unexpected lookup ${JSON.stringify(never)}`);
    }
  }
}
