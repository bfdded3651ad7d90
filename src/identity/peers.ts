import type { IdentifierState } from '../store/ports.ts';
import { splitIdentifierKey, type IdentifierKey } from './identifier.ts';
import type { IdentityRules } from './rules.ts';

/**
 * Records that `other` was seen in the same message as `state`, when `other` is of a quarantine
 * peer type. Only maxPeers + 1 distinct values are kept per type: enough to know the limit is
 * crossed, and the row stays small however much traffic a junk value attracts.
 */
export function addPeer(state: IdentifierState, other: IdentifierKey, rules: IdentityRules): boolean {
  const type = splitIdentifierKey(other).type;
  if (!rules.quarantine.peerTypes.includes(type)) return false;
  const list = (state.peers[type] ??= []);
  if (list.length > rules.quarantine.maxPeers || list.includes(other)) return false;
  list.push(other);
  // Kept sorted so that the same set of peers is stored the same way whatever the arrival order.
  list.sort();
  return true;
}

/** True when the identifier has been seen with more distinct peers of one type than allowed. */
export function isOverPeerLimit(state: IdentifierState, rules: IdentityRules): boolean {
  for (const list of Object.values(state.peers)) if (list.length > rules.quarantine.maxPeers) return true;
  return false;
}
