import { areNicknames, isNicknameInitial } from './nicknames.ts';
import type { DateParts } from './normalise.ts';
import type { ComparisonKind, Feature } from './prepare-record.ts';
import { damerauLevenshtein, jaroWinkler, jaroWinklerAtLeast, withinOneEdit } from './string-distance.ts';

/**
 * The ordered agreement levels of each comparison kind, strongest first; the last level is always
 * "different". Level 0 is always exact agreement (the level term frequencies adjust). A missing
 * value on either side gives no level at all: it contributes nothing to the score.
 */
export const LEVELS: Readonly<Record<ComparisonKind, readonly string[]>> = {
  name: ['exact', 'first and last names swapped', 'typo (Jaro-Winkler >= 0.95 or one edit)', 'nickname, same sound or shared word', 'similar (Jaro-Winkler >= 0.88)', 'initial agrees', 'different'],
  date: ['exact', 'one typo or day and month swapped', 'year and month or day agree', 'month and day agree, year differs', 'two typos', 'years within 5', 'different'],
  houseNumber: ['exact', 'one edit', 'different'],
  postcode: ['exact', 'one edit', 'same first three characters', 'different'],
  street: ['exact', 'typo (Jaro-Winkler >= 0.94 or one edit)', 'similar (shared words or Jaro-Winkler >= 0.85)', 'different'],
  address: ['exact', 'same house number and similar street', 'similar (shared words or Jaro-Winkler >= 0.85)', 'different'],
  city: ['exact', 'typo (Jaro-Winkler >= 0.92 or one edit)', 'different'],
  category: ['exact', 'different'],
  email: ['exact', 'one edit', 'same user name', 'different'],
  phone: ['exact', 'same number with or without a prefix', 'one edit', 'different'],
  identifier: ['exact', 'one edit', 'different'],
  text: ['exact', 'similar (Jaro-Winkler >= 0.9)', 'different'],
};

/**
 * Levels of near agreement that never weigh more than exact agreement on the more frequent of
 * the two values (its term-frequency weight): a typo of "Mueller" says no more than "Mueller"
 * does. Without the cap, a typo of a common name outweighed the name itself, since the typo
 * level's u is an average over rare spellings.
 */
export const NEAR_LEVELS: Readonly<Record<ComparisonKind, readonly number[]>> = {
  name: [2],
  date: [],
  houseNumber: [],
  postcode: [],
  street: [],
  address: [],
  city: [],
  category: [],
  email: [],
  phone: [],
  identifier: [],
  text: [],
};

function phoneticAgree(a: Feature, b: Feature): boolean {
  const [a1, a2] = a.phonetic!;
  const [b1, b2] = b.phonetic!;
  if (a1 === '' || b1 === '') return false;
  return a1 === b1 || a1 === b2 || a2 === b1;
}

/**
 * Whether one name is written without vowels and its consonants are the other's: scripts that
 * leave short vowels unwritten (Arabic, Hebrew, Persian) transliterate فيصل صديقي as "fysl sdyqy",
 * which is Faisal Siddiqui; their y and w stand for long vowels. A name in Latin letters almost
 * always has a vowel (a, e, i, o, u), so only such transliterations are read this way.
 */
function sameConsonants(a: string, b: string): boolean {
  const x = VOWELS.test(a);
  if (x === VOWELS.test(b)) return false;
  const written = consonants(x ? b : a, /[yw]/g);
  return written.length >= 2 && written === consonants(x ? a : b, /[aeiou]/g);
}

const VOWELS = /[aeiou]/;

/** A name without the letters `vowels`, q as k, doubled letters once. */
function consonants(name: string, vowels: RegExp): string {
  return name.replace(vowels, '').replace(/q/g, 'k').replace(/(.)\1+/g, '$1');
}

function shareWord(a: readonly string[], b: readonly string[], minLength: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]!.length >= minLength && b.includes(a[i]!)) return true;
  return false;
}

/**
 * Words in common over words in all (Jaccard) of two features with `words` (see `wordSpans`), as
 * the words of `v.split(' ')` would give it. Words are compared by their hashes, and by their
 * text only when the hashes agree: this runs for most address pairs, which mostly share no word.
 */
function wordOverlap(a: Feature, b: Feature): number {
  const wa = a.words!;
  const wb = b.words!;
  let common = 0;
  for (let i = 0; i < wa.length; i += 3) {
    for (let j = 0; j < wb.length; j += 3) {
      if (wa[i] === wb[j] && sameSpan(a.v, wa[i + 1]!, wa[i + 2]!, b.v, wb[j + 1]!, wb[j + 2]!)) {
        common++;
        break;
      }
    }
  }
  const words = (wa.length + wb.length) / 3;
  return common / (words - common);
}

/** Whether x[xs, xe) and y[ys, ye) are the same text. */
function sameSpan(x: string, xs: number, xe: number, y: string, ys: number, ye: number): boolean {
  if (xe - xs !== ye - ys) return false;
  for (let i = 0; i < xe - xs; i++) if (x.charCodeAt(xs + i) !== y.charCodeAt(ys + i)) return false;
  return true;
}

/** Records a spelling must be seen in, at least, to count as a name of its own rather than a typo. */
const ESTABLISHED_COUNT = 3;
/** …and at least this share of the records of the other spelling. */
const ESTABLISHED_SHARE = 0.01;

/**
 * Whether two close spellings are both names in their own right: each is carried by several
 * records, the rarer by at least 1% as many as the commoner. A typo makes a spelling that few
 * records share (Juergeqn, Muelloer), while Schmitt and Schmidt, Uwe and Ute, each carried by
 * dozens of records, are different names; such pairs are compared by sound and similarity
 * instead (Schmitt and Schmidt still sound alike). On 10,000 German records no true duplicate
 * had two such spellings, and thousands of non-matches did.
 */
function established(a: Feature, b: Feature): boolean {
  const x = a.seen ?? 1;
  const y = b.seen ?? 1;
  const low = x < y ? x : y;
  const high = x < y ? y : x;
  return low >= ESTABLISHED_COUNT && low >= high * ESTABLISHED_SHARE;
}

function nameLevel(a: Feature, b: Feature, partnerA: Feature | undefined, partnerB: Feature | undefined): number {
  if (a.v === b.v) return 0;
  if (partnerA !== undefined && partnerB !== undefined && a.v === partnerB.v && b.v === partnerA.v) return 1;
  const ca = a.compact!;
  const cb = b.compact!;
  if (ca.length === 1 || cb.length === 1) {
    if (ca[0] === cb[0]) return 5;
    return (ca.length === 1 && isNicknameInitial(ca, b.tokens![0]!)) || (cb.length === 1 && isNicknameInitial(cb, a.tokens![0]!)) ? 5 : 6;
  }
  if (ca === cb) return 2;
  const jw = jaroWinkler(ca, cb);
  if ((jw >= 0.95 || (Math.min(ca.length, cb.length) >= 3 && withinOneEdit(ca, cb))) && !established(a, b)) return 2;
  if (areNicknames(a.tokens![0]!, b.tokens![0]!) || phoneticAgree(a, b) || shareWord(a.tokens!, b.tokens!, 3) || sameConsonants(ca, cb)) return 3;
  if (jw >= 0.88) return 4;
  return 6;
}

/** The name level that a word two names share gives ("nickname, same sound or shared word"). */
const SHARED_WORD = 3;

/**
 * The level of two surnames `a` and `b` given the records' middle names: a surname that is a
 * word of the other record's middle name agrees at least as a shared word does. A full name
 * splits its last word off as the surname, so "Susan Meyer Thomas" (a married name added, or a
 * compound surname such as Garcia Lopez) has Meyer as a middle name, and "Susan Meyer" has it as
 * her surname: compared alone, the two surnames differ. `level` is the surnames' level on their
 * own; a middle name only ever raises it, up to the shared-word level.
 */
export function surnameWithMiddleNames(level: number, a: Feature, b: Feature, middleA: Feature | undefined, middleB: Feature | undefined): number {
  if (level <= SHARED_WORD) return level;
  if (middleB !== undefined && shareWord(a.tokens!, middleB.tokens!, 3)) return SHARED_WORD;
  if (middleA !== undefined && shareWord(b.tokens!, middleA.tokens!, 3)) return SHARED_WORD;
  return level;
}

/** Whether two date parts, written as numbers (day 2, day 23), are at most one typo apart. */
function partsWithinOneEdit(a: number, b: number): boolean {
  return a === b || withinOneEdit(String(a), String(b));
}

/**
 * Typos between two dates written as YYYYMMDD: differing positions, an adjacent transposition
 * counting one. Dates have a fixed width, so a typo replaces or swaps digits and never shifts
 * the rest; counting positions is the edit distance for them, at a fraction of the cost. 3 means
 * three or more.
 */
function digitEdits(a: string, b: string): number {
  if (a.length !== b.length) return Math.min(damerauLevenshtein(a, b, 2), 3);
  let edits = 0;
  for (let i = 0; i < a.length; i++) {
    if (a.charCodeAt(i) === b.charCodeAt(i)) continue;
    if (i + 1 < a.length && a.charCodeAt(i) === b.charCodeAt(i + 1) && a.charCodeAt(i + 1) === b.charCodeAt(i) && a.charCodeAt(i) !== a.charCodeAt(i + 1)) i++;
    if (++edits === 3) return 3;
  }
  return edits;
}

function dateLevel(a: Feature, b: Feature): number {
  if (a.v === b.v) return 0;
  const x = a.date!;
  const y = b.date!;
  const full = x.m > 0 && x.d > 0 && y.m > 0 && y.d > 0;
  if (full) {
    if (x.y === y.y && x.m === y.d && x.d === y.m) return 1;
    const sameY = x.y === y.y;
    const sameM = x.m === y.m;
    const sameD = x.d === y.d;
    const agree = (sameY ? 1 : 0) + (sameM ? 1 : 0) + (sameD ? 1 : 0);
    if (agree === 2) {
      // One part differs: one typo when that part is one edit away as written (day 2 and day
      // 23) or the written dates are (day 02 and day 12).
      const typo = !sameY ? partsWithinOneEdit(x.y, y.y) : !sameM ? partsWithinOneEdit(x.m, y.m) : partsWithinOneEdit(x.d, y.d);
      if (typo || digitEdits(a.v, b.v) <= 1) return 1;
      // One part wrong as a whole (a mistyped year, the day of another date) is the usual error.
      // Which part differs matters: a day or a month agreeing by chance is rarer than a year.
      return sameY ? 2 : 3;
    }
    // Two parts differ: as written in full (YYYYMMDD), a transposition across them is one
    // typo, two differing digits are two.
    const edits = digitEdits(a.v, b.v);
    if (edits <= 1) return 1;
    if (edits === 2) return 4;
  } else if (x.y === y.y && (x.m === 0 || y.m === 0 || x.m === y.m) && (x.d === 0 || y.d === 0 || x.d === y.d)) {
    // What both records know agrees, but one of them knows less.
    return 2;
  }
  return Math.abs(x.y - y.y) <= 5 ? 5 : 6;
}

/** Whether a and b have the same first `n` characters (both at least that long). */
function samePrefix(a: string, b: string, n: number): boolean {
  if (a.length < n || b.length < n) return false;
  for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return false;
  return true;
}

/** Whether a and b have the same last `n` characters (both at least that long). */
function sameSuffix(a: string, b: string, n: number): boolean {
  if (a.length < n || b.length < n) return false;
  for (let i = 1; i <= n; i++) if (a.charCodeAt(a.length - i) !== b.charCodeAt(b.length - i)) return false;
  return true;
}

function editLevels(a: string, b: string, levels: number): number {
  if (a === b) return 0;
  return withinOneEdit(a, b) ? 1 : levels - 1;
}

/**
 * The agreement level of two present features of `kind`. `partnerA`/`partnerB` are, for first and
 * last names, the other name of the same records (to recognise swapped names).
 */
export function compareFeatures(kind: ComparisonKind, a: Feature, b: Feature, partnerA?: Feature, partnerB?: Feature): number {
  switch (kind) {
    case 'name':
      return nameLevel(a, b, partnerA, partnerB);
    case 'date':
      return dateLevel(a, b);
    case 'houseNumber':
    case 'identifier':
      return editLevels(a.v, b.v, 3);
    case 'postcode':
      if (a.v === b.v) return 0;
      if (withinOneEdit(a.v, b.v)) return 1;
      return a.v.length >= 4 && b.v.length >= 4 && samePrefix(a.v, b.v, 3) ? 2 : 3;
    case 'street': {
      if (a.v === b.v) return 0;
      if (withinOneEdit(a.v, b.v) || jaroWinklerAtLeast(a.v, b.v, 0.94)) return 1;
      return wordOverlap(a, b) >= 0.5 || jaroWinklerAtLeast(a.v, b.v, 0.85) ? 2 : 3;
    }
    case 'address': {
      if (a.v === b.v) return 0;
      const n = a.numberEnd!;
      if (n > 0 && n === b.numberEnd && sameSpan(a.v, 0, n, b.v, 0, n) && jaroWinklerAtLeast(a.v.slice(n + 1), b.v.slice(n + 1), 0.9)) return 1;
      return wordOverlap(a, b) >= 0.5 || jaroWinklerAtLeast(a.v, b.v, 0.85) ? 2 : 3;
    }
    case 'city':
      if (a.v === b.v) return 0;
      return withinOneEdit(a.v, b.v) || jaroWinklerAtLeast(a.v, b.v, 0.92) ? 1 : 2;
    case 'category':
      return a.v === b.v ? 0 : 1;
    case 'email': {
      if (a.v === b.v) return 0;
      if (withinOneEdit(a.v, b.v)) return 1;
      const at = a.v.indexOf('@');
      return at === b.v.indexOf('@') && samePrefix(a.v, b.v, at) ? 2 : 3;
    }
    case 'phone': {
      if (a.v === b.v) return 0;
      const short = a.v.length <= b.v.length ? a.v : b.v;
      const long = short === a.v ? b.v : a.v;
      if ((short.length >= 7 && sameSuffix(long, short, short.length)) || (short.length >= 9 && sameSuffix(long, short, 9))) return 1;
      return withinOneEdit(a.v, b.v) ? 2 : 3;
    }
    case 'text':
      if (a.v === b.v) return 0;
      return jaroWinklerAtLeast(a.v, b.v, 0.9) ? 1 : 2;
    default: {
      const never: never = kind;
      throw new Error(`unknown comparison kind ${String(never)}`);
    }
  }
}
