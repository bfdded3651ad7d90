import { describe, expect, it } from 'vitest';
import type { MatchInput } from './attributes.ts';
import { generationOf, generationsConflict } from './generation.ts';
import { pairwiseScores } from './evaluate.ts';
import { matchRecords } from './match-records.ts';
import { VETO_WEIGHT } from './pair-evidence.ts';
import { compileModel, scorePair } from './score.ts';
import { train } from './train.ts';

const NOW = new Date('2026-01-01T00:00:00Z');
const SYLLABLES = ['an', 'bel', 'cor', 'dan', 'el', 'fin', 'gor', 'hal', 'is', 'jon', 'ka', 'lor', 'mi', 'nor', 'os', 'pet', 'ri', 'sa', 'tor', 'ul'];

function generator(seed: number): { rand: (n: number) => number; word: (parts: number) => string; date: () => string } {
  let state = seed;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * n);
  };
  const word = (parts: number): string => Array.from({ length: parts }, () => SYLLABLES[rand(SYLLABLES.length)]!).join('');
  const date = (): string => `${1940 + rand(60)}-${String(1 + rand(12)).padStart(2, '0')}-${String(1 + rand(28)).padStart(2, '0')}`;
  return { rand, word, date };
}

/** 300 people, each with a passport; every third entered twice, the copy with a typo in the surname. */
function withPassports(): MatchInput[] {
  const { rand, word, date } = generator(3);
  const out: MatchInput[] = [];
  for (let i = 0; i < 300; i++) {
    const values = { firstName: word(2), lastName: word(3), birthday: date(), city: ['berlin', 'hamburg', 'koeln'][rand(3)]!, 'id:passport': `P${100000 + i}` };
    out.push({ id: `p${i}-0`, values });
    if (i % 3 === 0) out.push({ id: `p${i}-1`, values: { ...values, lastName: `${values.lastName}x` } });
  }
  return out;
}

/**
 * 120 households of three sharing a surname, an address, a phone and an email, each member with
 * a given name and birth date of their own; every third member entered twice (the copy without
 * its phone). Ids `h<H>-<member>-<k>`.
 */
function households(): MatchInput[] {
  const { rand, word, date } = generator(11);
  const out: MatchInput[] = [];
  for (let h = 0; h < 120; h++) {
    const shared = { lastName: word(3), address: `${1 + rand(900)} ${word(2)} street`, city: ['berlin', 'hamburg', 'koeln'][rand(3)]!, phone: `030${1000000 + rand(8999999)}`, email: `${word(2)}@example.org` };
    for (let k = 0; k < 3; k++) {
      const values = { ...shared, firstName: word(2), birthday: date() };
      out.push({ id: `h${h}-${k}-0`, values });
      if ((h * 3 + k) % 3 === 0) out.push({ id: `h${h}-${k}-1`, values: { ...values, phone: undefined } });
    }
  }
  return out;
}

/**
 * 300 people with an address (street, city, postcode, state), a phone of their own and an email
 * made of their name; every third entered twice, the copy with a typo in the surname. The last 20
 * share an office phone.
 */
function withPhones(): MatchInput[] {
  const { rand, word, date } = generator(5);
  const out: MatchInput[] = [];
  for (let i = 0; i < 300; i++) {
    const town = rand(3);
    const values = {
      firstName: word(2),
      lastName: word(3),
      birthday: date(),
      street: `${1 + rand(900)} ${word(2)} street`,
      city: ['berlin', 'hamburg', 'koeln'][town]!,
      postalCode: String(10000 + town * 20000 + rand(900)),
      state: ['be', 'hh', 'nw'][town]!,
      phone: i >= 280 ? '0301234567' : `030${1000000 + i}`,
    };
    Object.assign(values, { email: `${values.firstName}.${values.lastName}@example.org` });
    out.push({ id: `p${i}-0`, values });
    if (i % 3 === 0) out.push({ id: `p${i}-1`, values: { ...values, lastName: `${values.lastName}x` } });
  }
  return out;
}

describe('generations', () => {
  it('reads Sr, Senior, Jr, Junior and roman numerals at the end of a name, never a name alone', () => {
    expect(generationOf({ lastName: 'Smith Sr' })).toBe(1);
    expect(generationOf({ lastName: 'Dobbins Senior' })).toBe(1);
    expect(generationOf({ lastName: 'Brown Jr.' })).toBe(2);
    expect(generationOf({ firstName: 'Morris II' })).toBe(2);
    expect(generationOf({ fullName: 'Hughes, Howard III' })).toBe(3);
    expect(generationOf({ lastName: 'Li', firstName: 'I' })).toBe(0);
    expect(generationsConflict(1, 2)).toBe(true);
    expect(generationsConflict(0, 2)).toBe(false);
    expect(generationsConflict(2, 2)).toBe(false);
  });

  it('keeps a Sr and a Jr apart however much else they share', () => {
    const records = withPassports().filter((r) => !('id:passport' in r.values && r.id.endsWith('-1')));
    const model = train(records, { now: NOW });
    const father: MatchInput = { id: 'a', values: { firstName: 'david', lastName: 'Dobbins Sr', city: 'berlin' } };
    const son: MatchInput = { id: 'b', values: { firstName: 'david', lastName: 'Dobbins Jr', city: 'berlin' } };
    const score = scorePair(model, father, son);
    expect(score.weight).toBeLessThan(VETO_WEIGHT / 2);
    expect(score.evidence.map((e) => e.reason)).toEqual([expect.stringContaining('generations differ')]);
    expect(scorePair(model, father, { ...son, values: { ...son.values, lastName: 'Dobbins' } }).weight).toBeGreaterThan(0);
  });
});

describe('identity documents', () => {
  it('links records that share a passport number, and never two with different numbers', () => {
    const records = withPassports();
    const model = train(records, { now: NOW });
    const a = records.find((r) => r.id === 'p0-0')!;
    const moved: MatchInput = { id: 'x', values: { firstName: a.values.firstName, lastName: 'other', city: 'bonn', 'id:passport': a.values['id:passport'] } };
    expect(scorePair(model, a, moved).probability).toBeGreaterThan(0.5);
    const twin: MatchInput = { id: 'y', values: { ...a.values, 'id:passport': 'P999999' } };
    const score = scorePair(model, a, twin);
    expect(score.weight).toBeLessThan(0);
    expect(score.attributes.find((x) => x.attribute === 'id:passport')!.weight).toBe(VETO_WEIGHT);
    const typo: MatchInput = { id: 'z', values: { ...a.values, 'id:passport': `${a.values['id:passport']!.slice(0, -1)}9` } };
    expect(scorePair(model, a, typo).probability).toBeGreaterThan(0.5);
  });
});

describe('a move', () => {
  it('counts once when a phone only that person uses agrees, not when an office phone or a name-made email does', () => {
    const records = withPhones();
    const model = train(records, { now: NOW });
    const moved = (r: MatchInput): MatchInput => ({
      id: `${r.id}-moved`,
      values: { firstName: r.values.firstName, lastName: r.values.lastName, street: '8321 duke street', city: 'muenchen', postalCode: '80331', state: 'by', phone: r.values.phone },
    });
    const own = records.find((r) => r.id === 'p1-0')!;
    const score = scorePair(model, own, moved(own));
    expect(score.probability).toBeGreaterThan(0.5);
    expect(score.evidence.map((e) => e.reason)).toEqual([expect.stringContaining('(a move)')]);
    const office = records.find((r) => r.id === 'p290-0')!;
    const shared = scorePair(model, office, moved(office));
    expect(shared.evidence).toEqual([]);
    expect(shared.weight).toBeLessThan(score.weight);
    // firstname.lastname@ is what a namesake's address looks like too: it says the names again.
    const mailed = moved(own);
    const byEmail = scorePair(model, own, { ...mailed, values: { ...mailed.values, phone: undefined, email: own.values.email } });
    expect(byEmail.evidence).toEqual([]);
  });
});

describe('households', () => {
  it('are found in data where families share a surname, an address, a phone and an email, not in data without', () => {
    expect(train(households(), { now: NOW }).households).toBe(true);
    expect(train(withPassports(), { now: NOW }).households).toBeUndefined();
  });

  it('do not make family members one person: what they share counts once when the given name differs', () => {
    const records = households();
    const model = train(records, { now: NOW });
    const [mother, son] = [records.find((r) => r.id === 'h1-0-0')!, records.find((r) => r.id === 'h1-1-0')!];
    const score = scorePair(model, mother, son);
    expect(score.probability).toBeLessThan(0.05);
    expect(score.evidence.map((e) => e.reason)).toEqual([expect.stringContaining('household shares counts once')]);
    const result = matchRecords(records, { model });
    const cluster = new Map(result.records.map((r) => [r.id, r.cluster]));
    const person = (id: string): string => id.slice(0, id.lastIndexOf('-'));
    const scores = pairwiseScores(
      result.records.map((r) => ({ key: r.id, predicted: r.cluster, truth: person(r.id), source: 0 as const })),
      { link: false },
    );
    // One pair of siblings here has birth dates one typo apart (1960-01-07, 1960-01-02) and is
    // taken for one person; every other family stays apart, every duplicate is found.
    expect(scores.precision).toBeGreaterThan(0.95);
    expect(scores.recall).toBe(1);
    expect(cluster.get('h0-0-0')).toBe(cluster.get('h0-0-1'));
  });
});

describe('level weights', () => {
  it('never let complete disagreement weigh more than a partial one', () => {
    const model = train(withPassports(), { now: NOW });
    const birthday = model.comparisons.findIndex((c) => c.attribute === 'birthday');
    // As EM on a small file can estimate them: "years within 5" rarer among matches than "different".
    const levels = model.comparisons[birthday]!.levels.map((l, k) => (k === 5 ? { ...l, m: 0.001, u: 0.05 } : k === 6 ? { ...l, m: 0.05, u: 0.5 } : l));
    const edited = { ...model, comparisons: model.comparisons.map((c, k) => (k === birthday ? { ...c, levels } : c)) };
    const weights = compileModel(edited).weights[birthday]!;
    expect(weights[5]).toBeCloseTo(Math.log2(0.001 / 0.05));
    expect(weights[6]).toBe(weights[5]);
  });
});
