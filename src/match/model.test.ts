import { describe, expect, it } from 'vitest';
import type { MatchInput } from './attributes.ts';
import { matchRecords } from './match-records.ts';
import { ModelFormatError, parseModel } from './model.ts';
import { scorePair } from './score.ts';
import { train } from './train.ts';

const SYLLABLES = ['an', 'bel', 'cor', 'dan', 'el', 'fin', 'gor', 'hal', 'is', 'jon', 'ka', 'lor', 'mi', 'nor', 'os', 'pet', 'ri', 'sa', 'tor', 'ul'];

/** A seeded generator of integers below `n` and of made-up words of `parts` syllables. */
function syllableWords(seed: number): { rand: (n: number) => number; word: (parts: number) => string } {
  let state = seed;
  const rand = (n: number): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * n);
  };
  const word = (parts: number): string => Array.from({ length: parts }, () => SYLLABLES[rand(SYLLABLES.length)]!).join('');
  return { rand, word };
}

/** 300 generated people, every third entered twice with a typo in the surname; ids `p<N>-<k>`. */
function people(): MatchInput[] {
  const { rand, word } = syllableWords(7);
  const out: MatchInput[] = [];
  for (let i = 0; i < 300; i++) {
    const values = {
      firstName: word(2),
      lastName: word(3),
      birthday: `${1940 + rand(60)}-${String(1 + rand(12)).padStart(2, '0')}-${String(1 + rand(28)).padStart(2, '0')}`,
      city: ['berlin', 'hamburg', 'koeln', 'bonn'][rand(4)]!,
    };
    out.push({ id: `p${i}-0`, values });
    if (i % 3 === 0) {
      const last = values.lastName;
      const typo = `${last.slice(0, 2)}${last[3]}${last[2]}${last.slice(4)}`;
      out.push({ id: `p${i}-1`, values: { ...values, lastName: typo, ...(i % 2 === 0 ? { city: undefined } : {}) } });
    }
  }
  return out;
}

/**
 * 150 households of three (a surname, an address, a phone and an email each), every member with a
 * given name and birth date of their own; every fourth member entered twice with a typo in the
 * given name. Ids `h<H>-<member>-<k>`.
 */
function households(): MatchInput[] {
  const { rand, word } = syllableWords(11);
  const out: MatchInput[] = [];
  for (let h = 0; h < 150; h++) {
    const shared = { lastName: word(3), address: `${1 + rand(900)} ${word(2)} street`, city: ['berlin', 'hamburg', 'koeln'][rand(3)]!, phone: `030${1000000 + rand(8999999)}`, email: `${word(2)}@example.org` };
    for (let k = 0; k < 3; k++) {
      const values = { ...shared, firstName: word(2), birthday: `${1940 + rand(60)}-${String(1 + rand(12)).padStart(2, '0')}-${String(1 + rand(28)).padStart(2, '0')}` };
      out.push({ id: `h${h}-${k}-0`, values });
      if ((h * 3 + k) % 4 === 0) out.push({ id: `h${h}-${k}-1`, values: { ...values, firstName: `${values.firstName.slice(0, -1)}x` } });
    }
  }
  return out;
}

describe('model', () => {
  const records = people();
  const model = train(records, { now: new Date('2026-01-01T00:00:00Z') });

  it('is JSON that parses back to the same model, with a content version', () => {
    const copy = parseModel(JSON.parse(JSON.stringify(model)));
    expect(copy).toEqual(model);
    expect(model.version).toMatch(/^m_[0-9a-f]{16}$/);
    expect(parseModel({ ...JSON.parse(JSON.stringify(model)), threshold: 0.9 }).version).not.toBe(model.version);
    expect(train(records, { now: new Date('2026-01-02T00:00:00Z') }).version).toBe(model.version);
  });

  it('refuses a broken document, naming the field', () => {
    const bad = JSON.parse(JSON.stringify(model));
    bad.comparisons[0].levels[0].m = 2;
    expect(() => parseModel(bad)).toThrow(ModelFormatError);
    try {
      parseModel(bad);
    } catch (err) {
      expect((err as ModelFormatError).field).toBe('comparisons[0].levels[0].m');
    }
    expect(() => parseModel({ ...JSON.parse(JSON.stringify(model)), formatVersion: 99 })).toThrow(/formatVersion/);
  });

  it('scores a pair with each attribute’s level and weight; missing values weigh nothing', () => {
    const a = records[0]!;
    const b = records[1]!;
    const s = scorePair(model, a, b);
    expect(s.probability).toBeGreaterThan(0.9);
    const city = s.attributes.find((x) => x.attribute === 'city')!;
    expect(city).toMatchObject({ level: null, weight: 0 });
    const first = s.attributes.find((x) => x.attribute === 'firstName')!;
    expect(first.level).toBe(0);
    expect(first.weight).toBeGreaterThan(0);
    expect(s.weight).toBeCloseTo(s.prior + s.attributes.reduce((t, x) => t + x.weight, 0), 9);
    const stranger = scorePair(model, a, records[4]!);
    expect(stranger.probability).toBeLessThan(0.01);
  });

  it('weighs a typo of a common surname less than a typo of a rare one', () => {
    const common = records.slice(0, 60).map((r, k) => ({ id: `s${k}`, values: { ...r.values, lastName: 'schmidt' } }));
    const withCommon = train([...records, ...common], { now: new Date('2026-01-01T00:00:00Z') });
    const last = (x: string, y: string): number => scorePair(withCommon, { id: 'a', values: { lastName: x } }, { id: 'b', values: { lastName: y } }).attributes.find((a) => a.attribute === 'lastName')!.weight;
    const rare = records[3]!.values.lastName!;
    const rareTypo = `${rare.slice(0, -1)}x`;
    // 60 of 420 records are Schmidts: a typo of it says no more than Schmidt itself.
    expect(last('schmidt', 'schmidx')).toBeLessThanOrEqual(last('schmidt', 'schmidt'));
    expect(last('schmidt', 'schmidx')).toBeLessThan(last(rare, rareTypo) - 2);
  });

  it('deduplicates the people it was trained on', () => {
    const result = matchRecords(records);
    const clusterOf = new Map(result.records.map((r) => [r.id, r.cluster]));
    let found = 0;
    for (let i = 0; i < 300; i += 3) if (clusterOf.get(`p${i}-0`) === clusterOf.get(`p${i}-1`)) found++;
    expect(found).toBeGreaterThanOrEqual(95);
    expect(result.clusters).toBeGreaterThanOrEqual(300 - 5);
  });

  it('reads records from a function once, with the same result as the records given', () => {
    let calls = 0;
    const fromSource = matchRecords(() => {
      calls++;
      return records.map((r) => ({ id: r.id, values: { ...r.values } }));
    });
    expect(calls).toBe(1);
    const given = matchRecords(records);
    expect(fromSource.records).toEqual(given.records);
    expect(fromSource.candidatePairs).toBe(given.candidatePairs);
    // A model trained to deduplicate refuses a link, whether the records are given or read.
    const twoFiles = { left: records.slice(0, 10), right: records.slice(10, 20) };
    expect(() => matchRecords(twoFiles, { model: given.model })).toThrow(/trained to dedupe, not to link/);
    expect(() => matchRecords(() => twoFiles, { model: given.model })).toThrow(/trained to dedupe, not to link/);
  });

  it('learns what a person looks like from rules that households do not share', () => {
    // Blocked on address, phone or email alone, EM would take whole households for one person:
    // different given names and birth dates would look common among matches.
    const family = households();
    const model = train(family, { now: new Date('2026-01-01T00:00:00Z') });
    const m = (attribute: string, label: string): number => model.comparisons.find((c) => c.attribute === attribute)!.levels.find((l) => l.label === label)!.m;
    expect(m('firstName', 'different')).toBeLessThan(0.15);
    expect(m('birthday', 'different')).toBeLessThan(0.15);
  });

  it('learns m over all candidate pairs, not only over those a rule selects', () => {
    // Every duplicate carries exactly one error, in the given name or in the birth date: pairs
    // blocked on the birth date carry all their errors in the name, so sessions alone overstate
    // name typos (0.58 here against 0.5 among all duplicates; 0.44 after the steps over all pairs).
    let state = 5;
    const rand = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return Math.floor((state / 2147483648) * n);
    };
    const word = (parts: number): string => Array.from({ length: parts }, () => SYLLABLES[rand(SYLLABLES.length)]!).join('');
    const people: MatchInput[] = [];
    for (let i = 0; i < 1200; i++) {
      const values = { firstName: word(2), lastName: word(3), birthday: `${1940 + rand(60)}-${String(1 + rand(12)).padStart(2, '0')}-${String(1 + rand(28)).padStart(2, '0')}` };
      people.push({ id: `p${i}-0`, values });
      if (i % 3 !== 0) continue;
      const copy = i % 2 === 0 ? { ...values, firstName: `${values.firstName}x` } : { ...values, birthday: `${values.birthday.slice(0, 8)}${String(1 + ((Number(values.birthday.slice(8)) + 8) % 28)).padStart(2, '0')}` };
      people.push({ id: `p${i}-1`, values: copy });
    }
    const model = train(people, { now: new Date('2026-01-01T00:00:00Z') });
    const typo = model.comparisons.find((c) => c.attribute === 'firstName')!.levels.find((l) => l.label.startsWith('typo'))!.m;
    expect(typo).toBeGreaterThan(0.42);
    expect(typo).toBeLessThan(0.56);
  });

  it('trains from labels when given them', () => {
    const clusters = new Map(records.map((r) => [r.id, r.id.split('-')[0]!]));
    const supervised = train(records, { labels: { clusters } });
    expect(supervised.training.supervised).toBe(true);
    expect(supervised.lambda).toBeCloseTo(100 / ((records.length * (records.length - 1)) / 2), 6);
    expect(scorePair(supervised, records[0]!, records[1]!).probability).toBeGreaterThan(0.9);
  });
});
