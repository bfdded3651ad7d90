import { createHash, randomBytes } from 'node:crypto';
import type { KeyRole } from '../store/ports.ts';

const PREFIX: Record<KeyRole, string> = { write: 'kw_', read: 'kr_', admin: 'ka_' };

/** A new random key for a role: a readable role prefix and 32 bytes of entropy. */
export function newApiKey(role: KeyRole): string {
  return PREFIX[role] + randomBytes(32).toString('base64url');
}

/**
 * Keys are stored as SHA-256 digests only. They carry 256 bits of entropy, so a fast hash is
 * enough (no password stretching needed), and lookups by digest do not reveal the key.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The part of a key safe to show in listings. */
export function keyPrefix(key: string): string {
  return key.slice(0, 8);
}
