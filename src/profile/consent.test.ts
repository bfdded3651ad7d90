import { describe, expect, it } from 'vitest';
import type { TraitMap } from '../store/ports.ts';
import { applyConsent, consentEntries, consentOfContext, consentPreferences, mergeConsent } from './consent.ts';

describe('consent', () => {
  it("reads Segment's categoryPreferences, keeping boolean preferences only", () => {
    expect(consentOfContext({ consent: { categoryPreferences: { Advertising: true, Analytics: false, Email: 'yes', Sms: null } } })).toEqual({ Advertising: true, Analytics: false });
    expect(consentOfContext({ consent: { categoryPreferences: 'all' } })).toBeNull();
    expect(consentOfContext({ consent: [] })).toBeNull();
    expect(consentOfContext({})).toBeNull();
    expect(consentOfContext(undefined)).toBeNull();
    expect(consentPreferences({ Ads: 1 })).toBeNull();
  });

  it('ignores hostile, empty and overlong purposes, and bounds how many one message sets', () => {
    const raw = JSON.parse('{"__proto__": true, "constructor": false, "": true, "ok": true}') as unknown;
    const prefs = consentPreferences(raw)!;
    expect(Object.keys(prefs)).toEqual(['ok']);
    expect(Object.getPrototypeOf(prefs)).toBe(Object.prototype);
    expect(consentPreferences({ ['x'.repeat(201)]: true })).toBeNull();
    const many = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, true]));
    expect(Object.keys(consentPreferences(many)!)).toHaveLength(100);
  });

  it('keeps the latest preference per purpose, whatever the order', () => {
    const events: Array<[Record<string, boolean>, number, string]> = [
      [{ Ads: true, Analytics: true }, 10, 'm1'],
      [{ Ads: false }, 20, 'm2'],
      [{ Analytics: false }, 5, 'm0'],
    ];
    const forward: TraitMap = {};
    for (const [p, t, m] of events) applyConsent(forward, p, t, m);
    const backward: TraitMap = {};
    for (const [p, t, m] of [...events].reverse()) applyConsent(backward, p, t, m);
    expect(backward).toEqual(forward);
    expect(consentEntries(forward).map((c) => [c.purpose, c.granted, c.messageId])).toEqual([
      ['Ads', false, 'm2'],
      ['Analytics', true, 'm1'],
    ]);
    const merged: TraitMap = { Ads: { v: true, t: 30, m: 'm9' } };
    mergeConsent(merged, forward);
    expect(consentEntries(merged).map((c) => [c.purpose, c.granted])).toEqual([
      ['Ads', true],
      ['Analytics', true],
    ]);
  });
});
