import anyAscii from 'any-ascii';

/**
 * Normalisation of raw attribute values into the forms the comparisons work on. Every function
 * returns undefined for a missing value, so "missing" has one representation downstream.
 */

/** Values that mean "no value" in exported files. */
const NULL_LIKE = new Set(['', 'na', 'n/a', '#n/a', 'null', 'nil', 'none', 'unknown', '-', '--', '?', 'nan', 'undefined']);
const NULL_LIKE_LONGEST = Math.max(...[...NULL_LIKE].map((s) => s.length));

/** True when a raw field holds no value (empty, `NA`, `NULL`, `n/a`, …). */
export function isMissing(raw: string | undefined): boolean {
  if (raw === undefined) return true;
  // Most values are plainly present: they start and end with a printable character (so trimming
  // keeps them whole) and are longer than any null-like value or start unlike any. Telling those
  // without trimming and lower-casing saves a string or two per value of a million records.
  const a = raw.charCodeAt(0);
  const z = raw.charCodeAt(raw.length - 1);
  if (a > 0x20 && a < 0x7f && z > 0x20 && z < 0x7f) {
    if (raw.length > NULL_LIKE_LONGEST) return false;
    const first = a | 0x20;
    if (first !== 0x6e && first !== 0x75 && a !== 0x23 && a !== 0x2d && a !== 0x3f) return false;
  }
  return NULL_LIKE.has(raw.trim().toLowerCase());
}

const ASCII = /^[\x00-\x7f]*$/;

const FOLD: Readonly<Record<string, string>> = { ä: 'ae', ö: 'oe', ü: 'ue', ß: 'ss', æ: 'ae', ø: 'o', œ: 'oe', ł: 'l', đ: 'd', þ: 'th' };

/** Runs of characters outside the Latin script (and its diacritics). */
const NON_LATIN = /[^\u0000-\u024f\u0300-\u036f\u1e00-\u1eff]+/g;
/** Chinese characters and Korean syllables: one syllable each. */
const SYLLABIC = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]/;

/**
 * Other scripts in Latin letters, as the any-ascii tables spell them (ВАСИЛЬЕВ → VASIL'EV,
 * 王杰 → Wang Jie, فيصل → fysl): a customer list mixes a name in its own script with the same
 * name typed in Latin letters, and phonetic codes and edit distances then see them alike. A
 * Chinese character or Korean syllable is one syllable of a name: each becomes a word.
 */
function transliterate(s: string): string {
  return s.replace(NON_LATIN, (run) => (SYLLABIC.test(run) ? Array.from(run, (ch) => ` ${anyAscii(ch)} `).join('') : anyAscii(run)));
}

/**
 * Lower case, German umlauts spelled out (Müller → mueller, as German records transliterate them),
 * other diacritics removed, other scripts transliterated, apostrophes dropped (O'Brien → obrien),
 * every other non-alphanumeric run turned into one space.
 */
export function foldText(raw: string): string {
  // Plain ASCII (most values) needs no umlauts or diacritics handled: two passes instead of five.
  if (ASCII.test(raw)) return raw.toLowerCase().replace(/['`]/g, '').replace(/[^a-z0-9]+/g, ' ').trim();
  const lower = transliterate(raw.toLowerCase().replace(/[äöüßæøœłđþ]/g, (c) => FOLD[c] ?? c)).toLowerCase();
  return lower
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/['’`´]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

const NAME_NOISE = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'dame', 'rev', 'jr', 'sr', 'junior', 'senior', 'ii', 'iii', 'iv', 'esq', 'phd', 'md']);

/** A person-name value: folded, titles and generational suffixes removed. */
export function normaliseName(raw: string | undefined): string | undefined {
  if (isMissing(raw)) return undefined;
  const tokens = foldText(raw!).split(' ').filter((t) => t !== '' && !NAME_NOISE.has(t));
  return tokens.length === 0 ? undefined : tokens.join(' ');
}

/**
 * Splits a full name into first, middle and last; understands "Last, First Middle", and family
 * name first for a name written in Chinese characters or Korean syllables (王杰: Wang is the
 * family name, Jie the given name).
 */
export function splitFullName(raw: string | undefined): { first?: string; middle?: string; last?: string } {
  if (isMissing(raw)) return {};
  const comma = raw!.indexOf(',');
  const ordered = comma > 0 ? `${raw!.slice(comma + 1)} ${raw!.slice(0, comma)}` : raw!;
  const name = normaliseName(ordered);
  if (name === undefined) return {};
  const tokens = name.split(' ');
  if (tokens.length === 1) return { last: tokens[0] };
  if (comma < 0 && SYLLABIC.test(raw!)) return { first: tokens.slice(1).join(' '), last: tokens[0] };
  const middle = tokens.slice(1, -1).join(' ');
  return { first: tokens[0], ...(middle === '' ? {} : { middle }), last: tokens[tokens.length - 1] };
}

/** Free text: folded. */
export function normaliseText(raw: string | undefined): string | undefined {
  if (isMissing(raw)) return undefined;
  const s = foldText(raw!);
  return s === '' ? undefined : s;
}

const STREET_WORDS: Readonly<Record<string, string>> = {
  st: 'street',
  str: 'street',
  rd: 'road',
  ave: 'avenue',
  av: 'avenue',
  dr: 'drive',
  drv: 'drive',
  ln: 'lane',
  pl: 'place',
  ct: 'court',
  crt: 'court',
  cres: 'crescent',
  cr: 'crescent',
  cct: 'circuit',
  cir: 'circle',
  hwy: 'highway',
  pde: 'parade',
  tce: 'terrace',
  ter: 'terrace',
  blvd: 'boulevard',
  sq: 'square',
  pkwy: 'parkway',
  cl: 'close',
  gr: 'grove',
  apt: 'apartment',
  strasse: 'street',
  n: 'north',
  s: 'south',
  e: 'east',
  w: 'west',
};

/** A street or address line: folded, common abbreviations spelled out (St → street). */
export function normaliseStreet(raw: string | undefined): string | undefined {
  const s = normaliseText(raw);
  if (s === undefined) return undefined;
  return s
    .split(' ')
    .map((t) => STREET_WORDS[t] ?? t)
    .join(' ');
}

/** Postcodes written inside an address: British and Canadian forms, and codes of five or six digits. */
const POSTCODE = /\b([a-z]{1,2}\d[a-z\d]? ?\d[a-z]{2}|[a-z]\d[a-z] ?\d[a-z]\d|\d{5}(?:-\d{4})?|\d{6})\b/i;
/** In a folded segment: a house number and a street after it, or a street and its number after it (`hauptstrasse 23`). */
const NUMBER_FIRST = /(?:^|\s)(\d+[a-z]?\s+[a-z].*)$/;
const NUMBER_LAST = /^[a-z][^\d]*\s\d+[a-z]?$/;

/**
 * An address written on one line with its town and postcode (`123 Main Street, Las Vegas NV
 * 89132`, `Chinatown Point, 133 New Bridge Road, 059413 Singapore`) split into the street line
 * (house number and street, `123 main street`; a number written after the street is moved in
 * front, `23 ansbacher strasse`) and the postcode, so that it compares with the same address
 * written as separate columns. A line without commas is the street line as it is, less a
 * postcode at its end.
 */
export function parseAddress(raw: string | undefined): { line?: string; postcode?: string } {
  if (isMissing(raw)) return {};
  const segments = raw!.split(',').map((x) => x.trim()).filter((x) => x !== '');
  let postcode: string | undefined;
  let postcodeAt = -1;
  for (let k = segments.length - 1; k >= (segments.length > 1 ? 1 : 0) && postcode === undefined; k--) {
    const found = POSTCODE.exec(segments[k]!);
    // A lone line's first number is its house number, and a box or flat number is no postcode.
    const lone = segments.length === 1;
    if (found !== null && (!lone || (found.index > 0 && /[a-z]{2,}\s+[a-z]{2,}[^a-z]*$/i.test(segments[k]!.slice(0, found.index)) && !/\b(box|no|suite|unit|apt|flat)\W*$/i.test(segments[k]!.slice(0, found.index))))) {
      postcode = normaliseCode(found[1]);
      postcodeAt = k;
      if (segments.length === 1) segments[0] = segments[0]!.slice(0, found.index).trim();
    }
  }
  const candidates = segments.map((x) => foldText(x).replace(/\bp o box\b/, 'po box'));
  // Not used: the segment the postcode came from (unless it is the only one).
  const skip = segments.length > 1 ? postcodeAt : -1;
  // Preferred, in order: a segment that starts with a house number, one that ends with it, one
  // with a number and a street inside; else the first segment.
  let line: string | undefined;
  for (let k = 0; k < candidates.length && line === undefined; k++) if (usableSegment(candidates, k, skip) && /^\d+[a-z]?\s+[a-z]/.test(candidates[k]!)) line = candidates[k];
  for (let k = 0; k < candidates.length && line === undefined; k++) {
    if (!usableSegment(candidates, k, skip) || !NUMBER_LAST.test(candidates[k]!)) continue;
    const tokens = candidates[k]!.split(' ');
    line = [tokens[tokens.length - 1], ...tokens.slice(0, -1)].join(' ');
  }
  for (let k = 0; k < candidates.length && line === undefined; k++) if (usableSegment(candidates, k, skip)) line = NUMBER_FIRST.exec(candidates[k]!)?.[1];
  for (let k = 0; k < candidates.length && line === undefined; k++) if (usableSegment(candidates, k, skip)) line = candidates[k];
  const street = normaliseStreet(line);
  return { ...(street === undefined ? {} : { line: street }), ...(postcode === undefined ? {} : { postcode }) };
}

/**
 * Whether address segment `k` may be the street line: not empty, not the postcode's segment
 * (`skip`). A module function, not a closure: addresses are parsed once per record.
 */
function usableSegment(candidates: readonly string[], k: number, skip: number): boolean {
  return candidates[k] !== '' && k !== skip;
}

/** Postcodes, house numbers and national ids: upper-case letters and digits only. */
export function normaliseCode(raw: string | undefined): string | undefined {
  if (isMissing(raw)) return undefined;
  const s = raw!.toUpperCase().replace(/[^A-Z0-9]/g, '');
  return s === '' || (s.length > 3 && /^(.)\1*$/.test(s)) ? undefined : s;
}

/** Phone numbers: digits only; fewer than 6 digits or one repeated digit is no phone. */
export function normalisePhone(raw: string | undefined): string | undefined {
  if (isMissing(raw)) return undefined;
  const d = raw!.replace(/\D/g, '');
  return d.length < 6 || /^(\d)\1*$/.test(d) ? undefined : d;
}

/**
 * Emails: trimmed and lower-cased, the address alone when written with a name
 * (`Jay Jones <jjones@example.com>`); a value without `@` is no email.
 */
export function normaliseEmail(raw: string | undefined): string | undefined {
  if (isMissing(raw)) return undefined;
  const named = /<([^<>@\s]+@[^<>\s]+)>/.exec(raw!);
  const s = (named === null ? raw! : named[1]!).trim().toLowerCase();
  const at = s.indexOf('@');
  return at <= 0 || at === s.length - 1 ? undefined : s;
}

/** Gender codes that say it is not known (`U` in many exports): no value. */
const GENDER_UNKNOWN = new Set(['u', 'unk', 'unknown', 'not known', 'not specified', 'unspecified', 'not stated']);

/** Gender: `m`/`f` for the usual spellings, no value for "unknown", otherwise the folded value. */
export function normaliseGender(raw: string | undefined): string | undefined {
  const s = normaliseText(raw);
  if (s === undefined) return undefined;
  if (s === 'm' || s === 'male' || s === 'man') return 'm';
  if (s === 'f' || s === 'female' || s === 'woman') return 'f';
  return GENDER_UNKNOWN.has(s) ? undefined : s;
}

/** A calendar date; a part is 0 when unknown (a birth year alone, say). */
export interface DateParts {
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

/** How to read `a/b/yyyy`: month first (US) or day first (most of the world). */
export type DateOrder = 'mdy' | 'dmy';

const MONTHS: Readonly<Record<string, number>> = {
  jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12,
};

/**
 * Date parts as given. Parts out of calendar range (month 13, day 75) are kept rather than
 * dropped: they are usually typos, and a typo of the true date still tells a lot.
 */
function validParts(y: number, m: number, d: number): DateParts | undefined {
  if (!Number.isInteger(y) || y < 1000 || y > 9999) return undefined;
  if (!Number.isInteger(m) || !Number.isInteger(d) || m < 0 || m > 99 || d < 0 || d > 99) return undefined;
  return { y, m, d };
}

function fullYear(twoDigits: number, pivot: number): number {
  return twoDigits + (twoDigits > pivot ? 1900 : 2000);
}

/** A written year: two digits are the most recent past year ending so (`pivot`: this year's last two digits). */
function yearOf(digits: string, pivot: number): number {
  return digits.length === 2 ? fullYear(Number(digits), pivot) : Number(digits);
}

/**
 * Parses a date in the common forms: `YYYYMMDD`, `YYYY-MM-DD` (and with `/` or `.`), ISO
 * timestamps, `a/b/yyyy` or `a-b-yy` read in `order` unless one part is above 12, `11 Dec 1978`,
 * `11-Dec-78`, `Dec 11, 1978`, and a bare year. Two-digit years are read as the most recent past year.
 */
export function parseDate(raw: string | undefined, order: DateOrder = 'mdy', now = new Date()): DateParts | undefined {
  if (isMissing(raw)) return undefined;
  const s = raw!.trim().toLowerCase();
  const pivot = now.getUTCFullYear() % 100;
  let m: RegExpMatchArray | null;
  if ((m = s.match(/^(\d{4})(\d{2})(\d{2})$/))) return validParts(Number(m[1]), Number(m[2]), Number(m[3]));
  if ((m = s.match(/^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[t ].*)?$/))) return validParts(Number(m[1]), Number(m[2]), Number(m[3]));
  if ((m = s.match(/^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})$/))) {
    const a = Number(m[1]);
    const b = Number(m[2]);
    const y = yearOf(m[3]!, pivot);
    const dayFirst = a > 12 ? true : b > 12 ? false : order === 'dmy';
    return dayFirst ? validParts(y, b, a) : validParts(y, a, b);
  }
  if ((m = s.match(/^(\d{1,2})[ -]([a-z]{3})[a-z]*\.?[-, ]+(\d{2}|\d{4})$/))) {
    const month = MONTHS[m[2]!];
    return month === undefined ? undefined : validParts(yearOf(m[3]!, pivot), month, Number(m[1]));
  }
  if ((m = s.match(/^([a-z]{3})[a-z]*\.?[ -](\d{1,2}),?[ -](\d{2}|\d{4})$/))) {
    const month = MONTHS[m[1]!];
    return month === undefined ? undefined : validParts(yearOf(m[3]!, pivot), month, Number(m[2]));
  }
  if ((m = s.match(/^(\d{4})$/))) return validParts(Number(m[1]), 0, 0);
  return undefined;
}

/** Joins separate year, month and day columns; the year is required, month and day may be missing (0). */
export function joinDateParts(year: string | undefined, month: string | undefined, day: string | undefined): DateParts | undefined {
  if (isMissing(year)) return undefined;
  const y = Number(year!.trim());
  const mo = isMissing(month) ? 0 : Number(month!.trim());
  // A month of 0 is unknown (or a typo), and the day still says something.
  const d = isMissing(day) ? 0 : Number(day!.trim());
  return validParts(y, mo, d);
}
