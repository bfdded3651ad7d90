import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { generateDataset, shuffled, type GeneratedDataset } from './generate-dataset.ts';

const START = new Date('2026-01-01T00:00:00Z');
const DAY_MS = 86_400_000;
const JUNK = new Set(['test@test.com', '0000000000', 'null', 'undefined', '0', 'anonymous']);

const dataset = generateDataset({ people: 2000, seed: 7 });

type Message = Record<string, unknown>;

function record(value: unknown): Message | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Message) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The normalised identifiers a message reveals, junk included; the way a resolver would read them. */
function identifiersIn(m: Message): string[] {
  const ids: string[] = [];
  const add = (type: string, value: string | undefined): void => {
    if (value !== undefined) ids.push(`${type}:${value}`);
  };
  add('user_id', str(m.userId));
  add('anonymous_id', str(m.anonymousId));
  const context = record(m.context) ?? {};
  add('device_id', str(record(context.device)?.id));
  for (const traits of [record(m.traits), record(context.traits)]) {
    add('email', str(traits?.email)?.toLowerCase());
    const phone = str(traits?.phone);
    if (phone !== undefined) add('phone', JUNK.has(phone) ? phone : parsePhoneNumberFromString(phone, 'US')?.number ?? `unparsable ${phone}`);
  }
  const externalIds = Array.isArray(context.externalIds) ? context.externalIds : [];
  for (const external of externalIds) add(str(record(external)?.type) ?? 'unknown', str(record(external)?.id));
  return ids;
}

function isJunk(id: string): boolean {
  return JUNK.has(id.slice(id.indexOf(':') + 1));
}

/** Distinct messages, first deliveries only. */
function firstDeliveries(data: GeneratedDataset): Message[] {
  const seen = new Set<unknown>();
  return data.messages.filter((m) => !seen.has(m.messageId) && seen.add(m.messageId));
}

/** Device ids on which more than one real userId logged in. */
function sharedDevices(data: GeneratedDataset): Set<string> {
  const users = new Map<string, Set<string>>();
  for (const m of data.messages) {
    const device = str(record(record(m.context)?.device)?.id);
    const user = str(m.userId);
    if (device === undefined || user === undefined || JUNK.has(user)) continue;
    users.set(device, (users.get(device) ?? new Set()).add(user));
  }
  return new Set([...users].filter(([, u]) => u.size > 1).map(([device]) => `device_id:${device}`));
}

/** What a message lacks for its type, as a Segment endpoint would see it; undefined when it is fine. */
function problemOf(m: Message): string | undefined {
  const id = str(m.messageId) ?? '?';
  if (!['identify', 'track', 'page', 'screen'].includes(str(m.type) ?? '')) return `${id}: type ${String(m.type)}`;
  if (!/^m-7-\d+$/.test(id)) return `${id}: messageId`;
  if (str(m.userId) === undefined && str(m.anonymousId) === undefined) return `${id}: no userId or anonymousId`;
  if (new Date(str(m.timestamp) ?? 'invalid').toISOString?.() !== m.timestamp) return `${id}: timestamp`;
  if (record(m.context) === undefined) return `${id}: context`;
  if (m.type === 'track' && str(m.event) === undefined) return `${id}: event`;
  if (m.type !== 'identify' && record(m.properties) === undefined) return `${id}: properties`;
  if (m.type === 'identify' && record(m.traits) === undefined) return `${id}: traits`;
  return undefined;
}

describe('generateDataset', () => {
  it('is deterministic for a seed and changes with it', () => {
    const again = generateDataset({ people: 2000, seed: 7 });
    expect(JSON.stringify(again.messages)).toBe(JSON.stringify(dataset.messages));
    expect(again.people).toEqual(dataset.people);
    expect([...again.truth]).toEqual([...dataset.truth]);

    const other = generateDataset({ people: 2000, seed: 8 });
    expect(JSON.stringify(other.messages)).not.toBe(JSON.stringify(dataset.messages));
    expect(other.people.map((p) => p.email)).not.toEqual(dataset.people.map((p) => p.email));
  });

  it('gives every message the fields its type requires, as plain JSON', () => {
    const problems = dataset.messages.map(problemOf).filter((p) => p !== undefined);
    expect(problems).toEqual([]);
    expect(JSON.parse(JSON.stringify(dataset.messages))).toEqual(dataset.messages);
  });

  it('spreads timestamps over the 90 days before start, in chronological order apart from redeliveries', () => {
    const times = firstDeliveries(dataset).map((m) => Date.parse(str(m.timestamp) ?? ''));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(START.getTime() - 90 * DAY_MS);
    expect(Math.max(...times)).toBeLessThan(START.getTime());
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(80 * DAY_MS);
    expect(times.filter((t, i) => t < (times[i - 1] ?? t))).toEqual([]);
    const ids = firstDeliveries(dataset).map((m) => Number(str(m.messageId)?.split('-')[2]));
    expect(ids).toEqual(ids.map((_, i) => i + 1));
  });

  it('honours the start date', () => {
    const start = new Date('2024-06-01T00:00:00Z');
    const times = generateDataset({ people: 50, start }).messages.map((m) => Date.parse(str(m.timestamp) ?? ''));
    expect(Math.max(...times)).toBeLessThan(start.getTime());
    expect(Math.min(...times)).toBeGreaterThanOrEqual(start.getTime() - 90 * DAY_MS);
  });

  it('redelivers about duplicateRate of the messages, identical and later', () => {
    for (const rate of [0, 0.02, 0.1]) {
      const data = generateDataset({ people: 2000, seed: 3, duplicateRate: rate });
      const first = new Map<unknown, string>();
      const redeliveries: boolean[] = [];
      for (const m of data.messages) {
        const original = first.get(m.messageId);
        if (original === undefined) first.set(m.messageId, JSON.stringify(m));
        else redeliveries.push(original === JSON.stringify(m));
      }
      expect(redeliveries.filter((identical) => !identical)).toEqual([]);
      expect(Math.abs(redeliveries.length / first.size - rate)).toBeLessThanOrEqual(rate * 0.2);
    }
  });

  it('averages about eventsPerPerson distinct messages per person', () => {
    for (const eventsPerPerson of [12, 30]) {
      const data = generateDataset({ people: 2000, eventsPerPerson, duplicateRate: 0 });
      expect(data.messages.length / 2000).toBeGreaterThan(eventsPerPerson * 0.9);
      expect(data.messages.length / 2000).toBeLessThan(eventsPerPerson * 1.1);
    }
  });

  it('lists identifiers that are unique to their owner and mirrors them in truth', () => {
    const owners = new Map<string, string>();
    const clashes: string[] = [];
    for (const person of dataset.people) {
      expect(new Set(person.identifiers).size).toBe(person.identifiers.length);
      expect(person.identifiers).toContain(`email:${person.email}`);
      for (const id of person.identifiers) {
        const other = owners.get(id);
        if (other !== undefined) clashes.push(`${id}: ${other} and ${person.personId}`);
        owners.set(id, person.personId);
      }
    }
    expect(clashes).toEqual([]);
    expect(new Map([...dataset.truth].sort())).toEqual(new Map([...owners].sort()));
    expect(new Set(dataset.people.map((p) => p.personId)).size).toBe(dataset.people.length);
  });

  it('uses the normalised forms in truth, with phones valid for libphonenumber', () => {
    const patterns: Record<string, RegExp> = {
      user_id: /^u_\d+$/,
      anonymous_id: /^[\w-]+$/,
      email: /^[a-z0-9.]+@[a-z0-9.-]+$/,
      phone: /^\+\d{11,12}$/,
      device_id: /^[\w-]+$/,
      loyalty_id: /^L-\d{7}$/,
    };
    const ids = [...dataset.truth.keys()].map((id) => ({ type: id.slice(0, id.indexOf(':')), value: id.slice(id.indexOf(':') + 1) }));
    expect(ids.filter(({ type, value }) => !(patterns[type]?.test(value) ?? false))).toEqual([]);
    expect(new Set(ids.map(({ type }) => type))).toEqual(new Set(Object.keys(patterns)));
    const phones = ids.filter(({ type }) => type === 'phone').map(({ value }) => value);
    expect(phones.filter((phone) => parsePhoneNumberFromString(phone)?.isValid() !== true)).toEqual([]);
    expect(phones.some((phone) => phone.startsWith('+44'))).toBe(true);
  });

  it('never maps junk values or shared family devices in truth, though both occur', () => {
    const shared = sharedDevices(dataset);
    // ~3% of 2000 people share a tablet in pairs.
    expect(shared.size).toBeGreaterThan(15);
    for (const device of shared) expect(dataset.truth.has(device)).toBe(false);

    const junkMessages = firstDeliveries(dataset).filter((m) => identifiersIn(m).some(isJunk));
    expect(junkMessages.length / firstDeliveries(dataset).length).toBeGreaterThan(0.005);
    expect(junkMessages.length / firstDeliveries(dataset).length).toBeLessThan(0.02);
    for (const id of dataset.truth.keys()) expect(isJunk(id)).toBe(false);
  });

  it('accounts for every identifier in the messages: truth, junk or a shared device', () => {
    const shared = sharedDevices(dataset);
    const seen = new Set<string>();
    const unknown: string[] = [];
    const mixed: string[] = [];
    for (const m of dataset.messages) {
      const ids = identifiersIn(m).filter((id) => !isJunk(id) && !shared.has(id));
      for (const id of ids) {
        if (!dataset.truth.has(id)) unknown.push(id);
        seen.add(id);
      }
      // All real identifiers of one message belong to one person.
      if (new Set(ids.map((id) => dataset.truth.get(id))).size !== 1) mixed.push(str(m.messageId) ?? '?');
    }
    expect(unknown).toEqual([]);
    expect(mixed).toEqual([]);
    expect(seen.size).toBe(dataset.truth.size);
  });

  it('logs a browser or app in with an identify before sending its userId, browsers after a first page', () => {
    const browsed = new Set<string>();
    const loggedIn = new Set<string>();
    const early: string[] = [];
    for (const m of firstDeliveries(dataset)) {
      const anonymousId = str(m.anonymousId) ?? '';
      const userId = str(m.userId);
      const web = str(record(record(m.context)?.library)?.name) === 'analytics.js';
      if (userId === undefined || JUNK.has(userId) || JUNK.has(anonymousId)) {
        if (m.type !== 'identify') browsed.add(anonymousId);
        continue;
      }
      if (m.type === 'identify') loggedIn.add(anonymousId);
      if (!loggedIn.has(anonymousId)) early.push(`${str(m.messageId) ?? '?'} before login`);
      if (web && !browsed.has(anonymousId)) early.push(`${str(m.messageId) ?? '?'} before a first page`);
    }
    expect(early).toEqual([]);
    expect(loggedIn.size).toBeGreaterThan(1000);
  });

  it('covers every channel of the brief', () => {
    const events = new Set(dataset.messages.map((m) => `${str(m.type)} ${str(m.event) ?? ''}`.trim()));
    for (const e of ['page', 'screen', 'identify', 'track Product Viewed', 'track Product Added', 'track Order Completed', 'track Call Completed']) {
      expect(events).toContain(e);
    }
    const deviceTypes = new Set(dataset.messages.map((m) => str(record(record(m.context)?.device)?.type)));
    expect(deviceTypes).toEqual(new Set([undefined, 'ios', 'android']));
    const loosePhones = dataset.messages.map((m) => str(record(record(m.context)?.traits)?.phone)).filter((p) => p !== undefined);
    expect(loosePhones.some((p) => /^\(\d{3}\) \d{3}-\d{4}$/.test(p))).toBe(true);
  });

  it('generates 10k people', () => {
    const data = generateDataset({ people: 10_000, seed: 42 });
    expect(data.people).toHaveLength(10_000);
    expect(data.messages.length).toBeGreaterThan(100_000);
  });
});

describe('shuffled', () => {
  const items = Array.from({ length: 100 }, (_, i) => i);

  it('returns a seeded permutation and leaves the input alone', () => {
    const a = shuffled(items, 1);
    expect(a).toEqual(shuffled(items, 1));
    expect(a).not.toEqual(items);
    expect(a).not.toEqual(shuffled(items, 2));
    expect([...a].sort((x, y) => x - y)).toEqual(items);
    expect(items).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });
});
