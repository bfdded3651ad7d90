import { describe, expect, it } from 'vitest';
import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { blockingKeys, fitRulesToBudget, ruleKey } from './blocking.ts';
import { findCandidates } from './candidate-pairs.ts';
import { KeyParts, partValue } from './key-parts.ts';
import type { BlockingRule } from './model.ts';
import { prepareRecord } from './prepare-record.ts';
import { train } from './train.ts';

const ATTRS: ComparedAttribute[] = ['firstName', 'lastName', 'birthday', 'city'];
const FIRST = ['anna', 'ben', 'carla', 'dieter', 'emma', 'fritz'];
const LAST = ['smith', 'smyth', 'jones', 'meyer', 'maier', 'brown'];
const CITY = ['berlin', 'paris', 'oslo'];

function records(n: number): MatchInput[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    values: {
      firstName: FIRST[i % FIRST.length]!,
      lastName: LAST[(i * 7) % LAST.length]!,
      ...(i % 5 === 0 ? {} : { birthday: `19${50 + (i % 4)}-0${1 + (i % 3)}-1${i % 2}` }),
      city: CITY[i % CITY.length]!,
    },
  }));
}

const RULES: BlockingRule[] = [
  { parts: [{ attribute: 'lastName', transform: 'phonetic' }, { attribute: 'city', transform: 'exact' }] },
  { parts: [{ attribute: 'birthday', transform: 'year' }, { attribute: 'firstName', transform: 'initial' }] },
];

describe('findCandidates', () => {
  const prepared = records(60).map((r, i) => prepareRecord(r, ATTRS, { dateOrder: 'mdy', source: i < 25 ? 0 : 1 }));
  const agree = (i: number, j: number): boolean =>
    RULES.some((rule, r) => {
      const k = ruleKey(rule, r, prepared[i]!, ATTRS);
      return k !== undefined && k === ruleKey(rule, r, prepared[j]!, ATTRS);
    });

  it('proposes exactly the pairs that agree on some rule (OR of ANDs), each once', () => {
    const c = findCandidates(prepared, ATTRS, RULES, { link: false, maxBlockSize: 1000 });
    const got = new Set<string>();
    for (let p = 0; p < c.count; p++) {
      const key = `${c.left[p]},${c.right[p]}`;
      expect(got.has(key)).toBe(false);
      expect(c.left[p]!).toBeLessThan(c.right[p]!);
      got.add(key);
    }
    const expected = new Set<string>();
    for (let i = 0; i < prepared.length; i++) for (let j = i + 1; j < prepared.length; j++) if (agree(i, j)) expected.add(`${i},${j}`);
    expect(got).toEqual(expected);
    expect(c.rules.map((r) => r.pairs).reduce((a, b) => a + b, 0)).toBe(c.count);
  });

  it('links only across the two files', () => {
    const c = findCandidates(prepared, ATTRS, RULES, { link: true, maxBlockSize: 1000 });
    let expected = 0;
    for (let i = 0; i < 25; i++) for (let j = 25; j < 60; j++) if (agree(i, j)) expected++;
    expect(c.count).toBe(expected);
    for (let p = 0; p < c.count; p++) expect(prepared[c.left[p]!]!.source).not.toBe(prepared[c.right[p]!]!.source);
  });

  it('skips blocks above the size limit and says so', () => {
    const c = findCandidates(prepared, ATTRS, [{ parts: [{ attribute: 'city', transform: 'exact' }] }], { link: false, maxBlockSize: 10 });
    expect(c.count).toBe(0);
    expect(c.oversizedBlocks).toBe(3);
    expect(c.oversizedRecords).toBe(60);
  });

  it('finds swapped first and last names with an unordered rule', () => {
    const swapped = [
      { id: 'a', values: { firstName: 'Jane', lastName: 'Doe' } },
      { id: 'b', values: { firstName: 'Doe', lastName: 'Jane' } },
    ].map((r) => prepareRecord(r, ATTRS, { dateOrder: 'mdy' }));
    const rule: BlockingRule = { parts: [{ attribute: 'firstName', transform: 'phonetic' }, { attribute: 'lastName', transform: 'phonetic' }] };
    expect(findCandidates(swapped, ATTRS, [rule], { link: false, maxBlockSize: 10 }).count).toBe(0);
    expect(findCandidates(swapped, ATTRS, [{ ...rule, unordered: true }], { link: false, maxBlockSize: 10 }).count).toBe(1);
  });
});

describe('key transforms', () => {
  const [a, b] = [
    { id: 'a', values: { firstName: 'Bauer', lastName: 'Smith', birthday: '1967-04-12' } },
    { id: 'b', values: { firstName: 'Bquer', lastName: 'Smith', birthday: '1964-04-12' } },
  ].map((r) => prepareRecord(r, ATTRS, { dateOrder: 'mdy' }));
  it('prefix: the first three letters meet where the sound codes do not; monthDay: a mistyped year meets', () => {
    const first = (transform: 'prefix' | 'phonetic', r: typeof a) => partValue({ attribute: 'firstName', transform }, r!.features[0]);
    expect(first('prefix', a)).toBe('bau');
    expect(first('prefix', b)).toBe('bqu');
    expect(partValue({ attribute: 'birthday', transform: 'monthDay' }, a!.features[2])).toBe(partValue({ attribute: 'birthday', transform: 'monthDay' }, b!.features[2]));
    expect(partValue({ attribute: 'birthday', transform: 'year' }, a!.features[2])).not.toBe(partValue({ attribute: 'birthday', transform: 'year' }, b!.features[2]));
    expect(partValue({ attribute: 'lastName', transform: 'prefix' }, a!.features[1])).toBe('smi');
  });
  it('nickname: a given name and its nicknames meet, with the surname, by the default rules', () => {
    const nickname = (raw: string) => partValue({ attribute: 'firstName', transform: 'nickname' }, prepareRecord({ id: raw, values: { firstName: raw } }, ['firstName'], { dateOrder: 'mdy' }).features[0]);
    expect(nickname('Peggie')).toBe('margaret');
    expect(nickname('MARGARET')).toBe(nickname('Peggy'));
    expect(nickname('Zorro')).toBeUndefined();
    // Peggie Charney and Margaret Charney share no sound code and no prefix of either name.
    const model = train(
      [
        { id: 'a', values: { fullName: 'Charney, Peggie', city: 'berlin' } },
        { id: 'b', values: { fullName: 'Margaret Charney', city: 'paris' } },
        ...records(40),
      ],
      { now: new Date('2026-01-01T00:00:00Z') },
    );
    const [a, b] = [blockingKeys(model, { id: 'a', values: { fullName: 'Charney, Peggie' } }), blockingKeys(model, { id: 'b', values: { fullName: 'Margaret Charney' } })];
    expect(a.filter((k) => b.includes(k))).toHaveLength(1);
  });
  it('last7: a phone with and without its country and area code meets', () => {
    const phone = (raw: string) => partValue({ attribute: 'phone', transform: 'last7' }, prepareRecord({ id: raw, values: { phone: raw } }, ['phone'], { dateOrder: 'mdy' }).features[0]);
    expect(phone('+7 (4812) 85-62-34')).toBe(phone('481-285-6234'));
    expect(phone('12345')).toBeUndefined();
  });
});

describe('pair budgets', () => {
  // 400 records over 4 cities: a city alone makes blocks of 100 (19,800 pairs); a last name and
  // a city make blocks of 33 (6,336 pairs).
  const many = Array.from({ length: 400 }, (_, i) => ({
    id: `m${i}`,
    values: { firstName: `${FIRST[i % 6]}${String.fromCharCode(97 + (i % 20))}`, lastName: LAST[i % 6]!, city: `city${i % 4}` },
  })).map((r) => prepareRecord(r, ATTRS, { dateOrder: 'mdy' }));
  const byCity: BlockingRule = { parts: [{ attribute: 'city', transform: 'exact' }] };
  const byLast: BlockingRule = { parts: [{ attribute: 'lastName', transform: 'exact' }, { attribute: 'city', transform: 'exact' }] };

  it('a rule over its budget gets another key part; a rule under it is kept', () => {
    const parts = new KeyParts(many, ATTRS);
    const side = new Uint8Array(many.length);
    const fitted = fitRulesToBudget([byCity, byLast], parts, { attributes: ATTRS, side, link: false, budget: 7000, maxBlockSize: 1000 });
    // city alone: 4 × C(100, 2) = 19,800 pairs. Nobody has a birthday: no use in blocking on it.
    const names = fitted[0]!.parts.map((p) => `${p.attribute}.${p.transform}`);
    expect(names[0]).toBe('city.exact');
    expect(names.length).toBeGreaterThan(1);
    expect(names).not.toContain('birthday.year');
    expect(fitted[1]).toEqual(byLast);
    const found = findCandidates(many, ATTRS, [fitted[0]!], { link: false, maxBlockSize: 1000 });
    expect(found.count).toBeGreaterThan(0);
    expect(found.count).toBeLessThanOrEqual(7000);
  });

  it('over the budget, a rule loses its largest blocks first', () => {
    // Budget 25 × 400 = 10,000 pairs: two of the four city blocks (4,950 pairs each) are skipped.
    const found = findCandidates(many, ATTRS, [byCity], { link: false, maxBlockSize: 1000, maxPairsPerRecord: 25 });
    expect(found.count).toBe(9900);
    expect(found.oversizedBlocks).toBe(2);
    expect(findCandidates(many, ATTRS, [byCity], { link: false, maxBlockSize: 1000 }).count).toBe(19_800);
  });

  it('marks each pair with every rule that proposed it', () => {
    const found = findCandidates(many, ATTRS, [byLast, byCity], { link: false, maxBlockSize: 1000 });
    for (let p = 0; p < found.count; p++) {
      const [i, j] = [found.left[p]!, found.right[p]!];
      const sameLast = many[i]!.features[1]!.v === many[j]!.features[1]!.v;
      expect(found.masks![p]).toBe((sameLast ? 1 : 0) | 2);
    }
  });
});

describe('blockingKeys', () => {
  it('gives a record the keys of the rules whose attributes it has; records sharing a key are candidates', () => {
    const model = train(records(200), { blocking: RULES, randomPairs: 2000 });
    const a = blockingKeys(model, { id: 'x', values: { firstName: 'Anna', lastName: 'Smith', birthday: '1951-02-11', city: 'Oslo' } });
    const b = blockingKeys(model, { id: 'y', values: { firstName: 'Anne', lastName: 'Smyth', city: 'Oslo' } });
    expect(a).toHaveLength(2);
    expect(b).toHaveLength(1);
    expect(a).toContain(b[0]);
  });
});
