import { describe, expect, it } from 'vitest';
import { parseAttribute, type ComparedAttribute, type MatchInput } from './attributes.ts';
import { LEVELS, compareFeatures } from './comparisons.ts';
import { parseDate } from './normalise.ts';
import { openSession } from './match-session.ts';
import { kindOf, prepareRecord, wordSpans } from './prepare-record.ts';
import { compareRecords } from './score.ts';

const ATTRS: ComparedAttribute[] = ['firstName', 'lastName', 'birthday', 'postalCode', 'email', 'phone', 'streetNumber', 'address', 'city', 'gender'];

function level(attribute: ComparedAttribute, a: MatchInput['values'], b: MatchInput['values']): string | null {
  const x = prepareRecord({ id: 'a', values: a }, ATTRS, { dateOrder: 'mdy' });
  const y = prepareRecord({ id: 'b', values: b }, ATTRS, { dateOrder: 'mdy' });
  const c = ATTRS.indexOf(attribute);
  const fx = x.features[c];
  const fy = y.features[c];
  if (fx === undefined || fy === undefined) return null;
  const partner = attribute === 'firstName' ? 1 : attribute === 'lastName' ? 0 : -1;
  const l = partner < 0 ? compareFeatures(kindOf(attribute), fx, fy) : compareFeatures(kindOf(attribute), fx, fy, x.features[partner], y.features[partner]);
  return LEVELS[kindOf(attribute)][l]!;
}

describe('name comparison', () => {
  it('orders exact, swapped, typo, nickname/phonetic, similar, initial, different', () => {
    expect(level('firstName', { firstName: 'Zoë' }, { firstName: 'zoe' })).toBe('exact');
    expect(level('firstName', { firstName: 'Jane', lastName: 'Doe' }, { firstName: 'Doe', lastName: 'Jane' })).toBe('first and last names swapped');
    expect(level('lastName', { lastName: 'Smith' }, { lastName: 'Smtih' })).toMatch(/^typo/);
    expect(level('firstName', { firstName: 'Bob' }, { firstName: 'Robert' })).toMatch(/^nickname/);
    expect(level('lastName', { lastName: 'Meyer' }, { lastName: 'Maier' })).toMatch(/^nickname, same sound/);
    expect(level('firstName', { firstName: 'J.' }, { firstName: 'John' })).toBe('initial agrees');
    // The initial of the name a person goes by: B. for Robert (Bob), P for Margaret (Peggy).
    expect(level('firstName', { firstName: 'B' }, { firstName: 'Robert' })).toBe('initial agrees');
    expect(level('firstName', { firstName: 'Margaret' }, { firstName: 'P.' })).toBe('initial agrees');
    expect(level('firstName', { firstName: 'K' }, { firstName: 'Robert' })).toBe('different');
    expect(level('firstName', { firstName: 'Alice' }, { firstName: 'Zachary' })).toBe('different');
  });
  it('takes two close spellings that each many records carry for two names, not a typo', () => {
    const name = (v: string, seen: number) => ({ ...prepareRecord({ id: v, values: { lastName: v } }, ['lastName'], { dateOrder: 'mdy' }).features[0]!, seen });
    const label = (a: ReturnType<typeof name>, b: ReturnType<typeof name>) => LEVELS.name[compareFeatures('name', a, b)];
    expect(label(name('Schmitt', 107), name('Schmidt', 482))).toBe('nickname, same sound or shared word');
    expect(label(name('Muelloer', 1), name('Mueller', 691))).toMatch(/^typo/);
    // 5 records next to 691 (under 1%) is still a typo: typos of a very common name recur.
    expect(label(name('Muelloer', 5), name('Mueller', 691))).toMatch(/^typo/);
  });
  it('spells out umlauts and drops titles and suffixes', () => {
    expect(level('lastName', { lastName: 'Müller' }, { lastName: 'MUELLER' })).toBe('exact');
    expect(level('firstName', { firstName: 'Dr. Anna' }, { firstName: 'anna' })).toBe('exact');
  });
  it('transliterates other scripts, and reads a Chinese full name family name first', () => {
    expect(level('lastName', { lastName: 'ВАСИЛЬЕВ' }, { lastName: 'Vasilev' })).toBe('exact');
    expect(level('lastName', { fullName: 'ВАСИЛЬЕВ, Александр Павлович' }, { lastName: 'Vasiliev' })).toMatch(/^typo/);
    expect(level('firstName', { fullName: 'ВАСИЛЬЕВ, Александр Павлович' }, { firstName: 'Alexander' })).toMatch(/^nickname, same sound/);
    // Arabic leaves short vowels unwritten: فيصل صديقي reads "fysl sdyqy", Faisal Siddiqui.
    expect(level('firstName', { fullName: 'فيصل صديقي' }, { firstName: 'Faisal' })).toMatch(/^nickname, same sound/);
    expect(level('lastName', { fullName: 'فيصل صديقي' }, { lastName: 'Siddiqui' })).toMatch(/^nickname, same sound/);
    expect(level('firstName', { fullName: 'فيصل صديقي' }, { firstName: 'Fatima' })).toBe('different');
    expect(level('lastName', { fullName: '王杰' }, { lastName: 'Wang' })).toBe('exact');
    expect(level('firstName', { fullName: '张秀英' }, { firstName: 'Xiu Ying' })).toBe('exact');
  });
  it('splits a full name when first and last are not given', () => {
    expect(level('lastName', { fullName: 'Smith, Robert' }, { lastName: 'smith' })).toBe('exact');
    expect(level('firstName', { fullName: 'Robert J Smith' }, { firstName: 'Bob' })).toMatch(/^nickname/);
  });
});

describe('surnames and middle names', () => {
  it("take a surname that is the other record's middle name for a shared word, not another name", () => {
    // A married name added: "Susan Meyer Thomas" splits into first Susan, middle Meyer, last Thomas.
    const data: MatchInput[] = [
      { id: 'a', values: { fullName: 'Susan Meyer' } },
      { id: 'b', values: { fullName: 'Susan Meyer Thomas' } },
      { id: 'c', values: { fullName: 'Susan Anne Thomas' } },
      { id: 'd', values: { fullName: 'Meyer, Susan' } },
    ];
    const session = openSession(data, { dateOrder: 'mdy', rules: () => [{ parts: [{ attribute: 'firstName', transform: 'exact' }] }], maxBlockSize: 100 });
    const last = session.attributes.indexOf('lastName');
    const width = session.attributes.length;
    const label = (i: number, j: number): string => {
      const direct = new Uint8Array(width);
      const remembered = new Uint8Array(width);
      compareRecords(session, session.records[i]!, session.records[j]!, direct, 0);
      session.compare(i, j, remembered, 0);
      expect(remembered[last]).toBe(direct[last]);
      return LEVELS.name[direct[last]!]!;
    };
    expect(label(0, 1)).toBe('nickname, same sound or shared word');
    expect(label(1, 3)).toBe('nickname, same sound or shared word');
    expect(label(0, 2)).toBe('different');
    expect(label(1, 2)).toBe('exact');
  });
});

describe('date comparison', () => {
  it('understands the common formats', () => {
    for (const raw of ['19781211', '1978-12-11', '12/11/1978', 'Dec 11, 1978', '11 December 1978', '11-Dec-78', 'Dec 11 1978', '1978-12-11T00:00:00Z']) {
      expect(parseDate(raw, 'mdy'), raw).toEqual({ y: 1978, m: 12, d: 11 });
    }
    expect(parseDate('11/12/1978', 'dmy')).toEqual({ y: 1978, m: 12, d: 11 });
    expect(parseDate('25/12/1978', 'mdy')).toEqual({ y: 1978, m: 12, d: 25 });
    expect(parseDate('not a date')).toBeUndefined();
    // A two-digit year is the most recent such year: 24-May-11 is 2011, 15-Mar-92 is 1992.
    expect(parseDate('24-May-11', 'mdy', new Date('2026-01-01'))).toEqual({ y: 2011, m: 5, d: 24 });
    expect(parseDate('15-Mar-92', 'mdy', new Date('2026-01-01'))).toEqual({ y: 1992, m: 3, d: 15 });
  });
  it('orders exact, typo or swapped day/month, year with month or day, month and day, two typos, near years, different', () => {
    expect(level('birthday', { birthday: '1978-12-11' }, { birthday: '12/11/1978' })).toBe('exact');
    expect(level('birthday', { birthday: '1978-12-11' }, { birthday: '1978-11-12' })).toBe('one typo or day and month swapped');
    expect(level('birthday', { birthday: '1978-12-11' }, { birthday: '1978-12-14' })).toBe('one typo or day and month swapped');
    expect(level('birthday', { birthday: '1978-12-11' }, { birthday: '1952-12-11' })).toBe('month and day agree, year differs');
    expect(level('birthday', { birthday: '1978-02-11' }, { birthday: '1978-10-11' })).toBe('year and month or day agree');
    expect(level('birthday', { birthday: '1978-02-11' }, { birthday: '1978-02-27' })).toBe('year and month or day agree');
    // Edits count on the numbers as written: day 2 and day 23 are one typo apart.
    expect(level('birthday', { birthday: '1954-03-02' }, { birthday: '1954-03-23' })).toBe('one typo or day and month swapped');
    expect(level('birthday', { birthday: '1978-02-11' }, { birthday: '1976-03-11' })).toBe('two typos');
    expect(level('birthday', { birthday: '1978-02-11' }, { birthday: '1979-05-03' })).toBe('years within 5');
    expect(level('birthday', { birthday: '1978-02-11' }, { birthday: '1950-05-03' })).toBe('different');
  });
  it('joins year, month and day columns and keeps out-of-range typos', () => {
    expect(level('birthday', { birthYear: '1939', birthMonth: '13', birthDay: '19' }, { birthday: '1939-12-19' })).toBe('one typo or day and month swapped');
  });
});

describe('other comparisons', () => {
  it('postcodes, house numbers, phones, emails, addresses, cities', () => {
    expect(level('postalCode', { postalCode: '2000' }, { postalCode: '2001' })).toBe('one edit');
    expect(level('postalCode', { postalCode: '20001' }, { postalCode: '20099' })).toBe('same first three characters');
    expect(level('streetNumber', { streetNumber: '12' }, { streetNumber: '21' })).toBe('one edit');
    expect(level('phone', { phone: '(702) 919-1300' }, { phone: '+1 702 919 1300' })).toBe('same number with or without a prefix');
    expect(level('phone', { phone: '702-919-1300' }, { phone: '702-919-1030' })).toBe('one edit');
    expect(level('email', { email: 'Bob@Work.com' }, { email: 'bob@work.com' })).toBe('exact');
    expect(level('email', { email: 'bob@work.com' }, { email: 'bob@home.net' })).toBe('same user name');
    expect(level('email', { email: '"Bob Smith" <Bob@Work.com>' }, { email: 'bob@work.com' })).toBe('exact');
    expect(level('address', { address: '123 Main St' }, { address: '123 main street' })).toBe('exact');
    expect(level('address', { address: '123 Main Street' }, { address: '123 Mian Street' })).toBe('same house number and similar street');
    expect(level('address', { address: '12 Main Street' }, { address: '123 Main Street' })).toBe('similar (shared words or Jaro-Winkler >= 0.85)');
    expect(level('address', { address: '9 Oak Lane' }, { address: '14 Oak Lane' })).toBe('similar (shared words or Jaro-Winkler >= 0.85)');
    expect(level('address', { address: '580 Spruce Court' }, { address: '166 Oak Drive' })).toBe('different');
    expect(level('city', { city: 'Las Vegas' }, { city: 'Las Vegsa' })).toMatch(/^typo/);
  });
  it('splits words as split(" ") does, each with its hash and place', () => {
    for (const v of ['12 main street', 'main', '', 'a  b', ' x ', 'flat 2 12b high st']) {
      const spans = wordSpans(v);
      const words: string[] = [];
      for (let k = 0; k < spans.length; k += 3) words.push(v.slice(spans[k + 1], spans[k + 2]));
      expect(words).toEqual(v.split(' '));
    }
    expect(wordSpans('oak lane')[0]).toBe(wordSpans('lane oak')[3]);
  });

  it('reads the street line and postcode of an address written on one line', () => {
    expect(level('address', { address: '123 Main Street, Las Vegas NV 89132' }, { address: '123 Main St' })).toBe('exact');
    expect(level('address', { address: 'Chinatown Point, 133 New Bridge Road, 059413 Singapore' }, { address: '133 New Bridge Road, Chinatown Point' })).toBe('exact');
    expect(level('address', { address: 'Ansbacher Strasse 23, 56422 Dusseldorf' }, { address: '23 Ansbacher Street' })).toBe('exact');
    expect(level('postalCode', { address: '18 Danver Place, Loughborough, LE11 1UU, United Kingdom' }, { postalCode: 'le11 1uu' })).toBe('exact');
    // A postcode column wins over one read from the address; a box number is no postcode.
    expect(level('postalCode', { address: '1 Main St, Springfield 62704', postalCode: '62701' }, { postalCode: '62701' })).toBe('exact');
    expect(level('postalCode', { address: 'PO Box 12987' }, { postalCode: '12987' })).toBeNull();
  });
  it('a missing or unreadable value gives no level', () => {
    expect(level('email', { email: '' }, { email: 'bob@work.com' })).toBeNull();
    expect(level('email', { email: 'not an email' }, { email: 'bob@work.com' })).toBeNull();
    expect(level('firstName', { firstName: 'NA' }, { firstName: 'bob' })).toBeNull();
    expect(level('phone', { phone: '000-000-0000' }, { phone: '000-000-0000' })).toBeNull();
    expect(level('gender', { gender: 'U' }, { gender: 'M' })).toBeNull();
  });
  it('compares any other identifier (id:NAME) as a code', () => {
    expect(parseAttribute('id:passport')).toBe('id:passport');
    expect(kindOf('id:passport')).toBe('identifier');
    const id = (v: string) => prepareRecord({ id: v, values: { 'id:passport': v } }, ['id:passport'], { dateOrder: 'mdy' }).features[0]!;
    expect(LEVELS.identifier[compareFeatures('identifier', id('AB-1234567'), id('ab1234567'))]).toBe('exact');
    expect(LEVELS.identifier[compareFeatures('identifier', id('10251111'), id('10252222'))]).toBe('different');
  });
});
