import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import { IDENTIFIER_TYPE_PATTERN, MAX_IDENTIFIER_VALUE_LENGTH } from './identifier.ts';
import { DEFAULT_BLOCKLIST, type IdentityRules } from './rules.ts';

export type Normalised = { ok: true; value: string } | { ok: false; reason: string };

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DEFAULT_BLOCKED = new Set(DEFAULT_BLOCKLIST);

/**
 * Brings a raw identifier value to its canonical form for its type, or says why it cannot be an
 * identifier: emails trimmed and lower-cased, phones to E.164 in the workspace's default region,
 * other ids trimmed. Junk values (the default blocklist, the workspace's own, and values made of
 * one repeated character such as `0000000`) are refused here, before they can merge anyone.
 */
export function normaliseIdentifier(type: string, raw: unknown, rules: IdentityRules): Normalised {
  if (!IDENTIFIER_TYPE_PATTERN.test(type)) return { ok: false, reason: `invalid identifier type "${type}"` };
  let text: string;
  if (typeof raw === 'string') text = raw.trim();
  else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
  else return { ok: false, reason: `${type} must be a string` };
  if (text === '') return { ok: false, reason: `${type} is empty` };
  if (/[\u0000-\u001f\u007f]/.test(text) || !text.isWellFormed()) return { ok: false, reason: `${type} contains control characters or invalid Unicode` };
  if (text.length > MAX_IDENTIFIER_VALUE_LENGTH) return { ok: false, reason: `${type} is longer than ${MAX_IDENTIFIER_VALUE_LENGTH} characters` };
  if (isJunk(type, text, rules)) return { ok: false, reason: `${type} "${text}" is on the blocklist` };

  let value = text;
  if (type === 'email') {
    value = text.toLowerCase();
    if (!EMAIL_PATTERN.test(value)) return { ok: false, reason: `email "${text}" is not an email address` };
  } else if (type === 'phone') {
    const phone = parsePhoneNumberFromString(text, rules.phoneRegion as CountryCode);
    if (phone === undefined || !phone.isValid()) return { ok: false, reason: `phone "${text}" is not a valid phone number` };
    value = phone.number;
  }
  if (value !== text && isJunk(type, value, rules)) return { ok: false, reason: `${type} "${value}" is on the blocklist` };
  return { ok: true, value };
}

function isJunk(type: string, value: string, rules: IdentityRules): boolean {
  const lower = value.toLowerCase();
  if (DEFAULT_BLOCKED.has(lower)) return true;
  // One character repeated (`0000000000`, `xxxxx`, `-----`) is never a real identifier.
  if (lower.length >= 3 && /^(.)\1+$/.test(lower.replace(/^\+/, ''))) return true;
  for (const entry of rules.blocklist) {
    const e = entry.toLowerCase();
    if (e === lower || e === `${type}:${lower}`) return true;
  }
  return false;
}
