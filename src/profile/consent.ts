import type { JsonObject } from '../spec/segment-message.ts';
import type { TraitMap } from '../store/ports.ts';
import { applyTraits, mergeTraits } from './traits.ts';

/** Purpose → granted, as a message carries it (Segment's `context.consent.categoryPreferences`). */
export type ConsentPreferences = Record<string, boolean>;

/** Bounds on what one message may record, so a hostile client cannot grow a profile without end. */
const MAX_PURPOSES = 100;
const MAX_PURPOSE_LENGTH = 200;
const HOSTILE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The consent preferences a message carries: Segment's consent shape,
 * `context.consent.categoryPreferences: { Advertising: true, Analytics: false }`. Only boolean
 * values are preferences; anything else is ignored rather than refusing the message (consent is
 * optional context). The same function reads live messages and stored evidence, so the fast path
 * and re-resolution see the same preferences.
 */
export function consentPreferences(categoryPreferences: unknown): ConsentPreferences | null {
  if (typeof categoryPreferences !== 'object' || categoryPreferences === null || Array.isArray(categoryPreferences)) return null;
  const out: ConsentPreferences = {};
  let n = 0;
  for (const [purpose, granted] of Object.entries(categoryPreferences as Record<string, unknown>)) {
    if (typeof granted !== 'boolean' || HOSTILE_KEYS.has(purpose) || purpose === '' || purpose.length > MAX_PURPOSE_LENGTH) continue;
    out[purpose] = granted;
    if (++n >= MAX_PURPOSES) break;
  }
  return n === 0 ? null : out;
}

/** The preferences in a message's `context`, when it has any. */
export function consentOfContext(context: JsonObject | undefined): ConsentPreferences | null {
  const consent = context?.consent;
  if (typeof consent !== 'object' || consent === null || Array.isArray(consent)) return null;
  return consentPreferences(consent.categoryPreferences);
}

/**
 * Consent survivorship, per purpose, exactly like traits: the preference from the latest event
 * (event time, then message id) wins, whatever order messages arrive in, so consent is a pure
 * function of a profile's messages (invariant 2).
 */
export function applyConsent(target: TraitMap, preferences: ConsentPreferences, t: number, m: string): boolean {
  return applyTraits(target, preferences, t, m);
}

/** Combines the consent of two merging profiles, purpose by purpose, by the same rule. */
export function mergeConsent(target: TraitMap, other: TraitMap): void {
  mergeTraits(target, other);
}

/** Purpose → { granted, t, m }, sorted by purpose: what the Profile API and CLI show. */
export function consentEntries(consent: TraitMap | undefined): Array<{ purpose: string; granted: boolean; t: number; messageId: string }> {
  const out: Array<{ purpose: string; granted: boolean; t: number; messageId: string }> = [];
  for (const purpose of Object.keys(consent ?? {}).sort()) {
    const tv = consent![purpose]!;
    out.push({ purpose, granted: tv.v === true, t: tv.t, messageId: tv.m });
  }
  return out;
}
