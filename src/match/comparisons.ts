import { areNicknames } from './nicknames.ts';
import type { ComparisonKind, Feature } from './prepare-record.ts';
import { damerauLevenshtein, jaroWinkler } from './string-distance.ts';

/**
 * The ordered agreement levels of each comparison kind, strongest first; the last level is always
 * "different". Level 0 is always exact agreement (the level term frequencies adjust). A missing
 * value on either side gives no level at all: it contributes nothing to the score.
 */
export const LEVELS: Readonly<Record<ComparisonKind, readonly string[]>> = {
  name: ['exact', 'first and last names swapped', 'typo (Jaro-Winkler >= 0.95 or one edit)', 'nickname, same sound or shared word', 'similar (Jaro-Winkler >= 0.88)', 'initial agrees', 'different'],
  date: ['exact', 'one typo or day and month swapped', 'two of year, month and day agree', 'two typos', 'years within 5', 'different'],
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

function phoneticAgree(a: Feature, b: Feature): boolean {
  const [a1, a2] = a.phonetic!;
  const [b1, b2] = b.phonetic!;
  if (a1 === '' || b1 === '') return false;
  return a1 === b1 || a1 === b2 || a2 === b1;
}

function shareWord(a: readonly string[], b: readonly string[], minLength: number): boolean {
  for (const t of a) if (t.length >= minLength && b.includes(t)) return true;
  return false;
}

function wordOverlap(a: readonly string[], b: readonly string[]): number {
  let common = 0;
  for (const t of a) if (b.includes(t)) common++;
  return common / (a.length + b.length - common);
}

function nameLevel(a: Feature, b: Feature, partnerA: Feature | undefined, partnerB: Feature | undefined): number {
  if (a.v === b.v) return 0;
  if (partnerA !== undefined && partnerB !== undefined && a.v === partnerB.v && b.v === partnerA.v) return 1;
  const ca = a.compact!;
  const cb = b.compact!;
  if (ca.length === 1 || cb.length === 1) return ca[0] === cb[0] ? 5 : 6;
  if (ca === cb) return 2;
  const jw = jaroWinkler(ca, cb);
  if (jw >= 0.95 || (Math.min(ca.length, cb.length) >= 3 && damerauLevenshtein(ca, cb, 1) <= 1)) return 2;
  if (areNicknames(a.tokens![0]!, b.tokens![0]!) || phoneticAgree(a, b) || shareWord(a.tokens!, b.tokens!, 3)) return 3;
  if (jw >= 0.88) return 4;
  return 6;
}

function dateLevel(a: Feature, b: Feature): number {
  if (a.v === b.v) return 0;
  const x = a.date!;
  const y = b.date!;
  const full = x.m > 0 && x.d > 0 && y.m > 0 && y.d > 0;
  if (full) {
    if (x.y === y.y && x.m === y.d && x.d === y.m) return 1;
    const edits = damerauLevenshtein(a.v, b.v, 2);
    if (edits <= 1) return 1;
    // One part wrong as a whole (a mistyped year, the day of another date) is the usual error.
    const agree = (x.y === y.y ? 1 : 0) + (x.m === y.m ? 1 : 0) + (x.d === y.d ? 1 : 0);
    if (agree >= 2) return 2;
    if (edits === 2) return 3;
  } else if (x.y === y.y && (x.m === 0 || y.m === 0 || x.m === y.m) && (x.d === 0 || y.d === 0 || x.d === y.d)) {
    // What both records know agrees, but one of them knows less: as good as two parts agreeing.
    return 2;
  }
  return Math.abs(x.y - y.y) <= 5 ? 4 : 5;
}

function editLevels(a: string, b: string, levels: number): number {
  if (a === b) return 0;
  return damerauLevenshtein(a, b, 1) <= 1 ? 1 : levels - 1;
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
      if (damerauLevenshtein(a.v, b.v, 1) <= 1) return 1;
      return a.v.length >= 4 && b.v.length >= 4 && a.v.slice(0, 3) === b.v.slice(0, 3) ? 2 : 3;
    case 'street': {
      if (a.v === b.v) return 0;
      const jw = jaroWinkler(a.v, b.v);
      if (jw >= 0.94 || damerauLevenshtein(a.v, b.v, 1) <= 1) return 1;
      return jw >= 0.85 || wordOverlap(a.tokens!, b.tokens!) >= 0.5 ? 2 : 3;
    }
    case 'address': {
      if (a.v === b.v) return 0;
      if (a.number !== undefined && a.number === b.number && jaroWinkler(a.rest!, b.rest!) >= 0.9) return 1;
      return jaroWinkler(a.v, b.v) >= 0.85 || wordOverlap(a.tokens!, b.tokens!) >= 0.5 ? 2 : 3;
    }
    case 'city':
      if (a.v === b.v) return 0;
      return jaroWinkler(a.v, b.v) >= 0.92 || damerauLevenshtein(a.v, b.v, 1) <= 1 ? 1 : 2;
    case 'category':
      return a.v === b.v ? 0 : 1;
    case 'email': {
      if (a.v === b.v) return 0;
      if (damerauLevenshtein(a.v, b.v, 1) <= 1) return 1;
      return a.v.slice(0, a.v.indexOf('@')) === b.v.slice(0, b.v.indexOf('@')) ? 2 : 3;
    }
    case 'phone': {
      if (a.v === b.v) return 0;
      const short = a.v.length <= b.v.length ? a.v : b.v;
      const long = short === a.v ? b.v : a.v;
      if ((short.length >= 7 && long.endsWith(short)) || (short.length >= 9 && long.slice(-9) === short.slice(-9))) return 1;
      return damerauLevenshtein(a.v, b.v, 1) <= 1 ? 2 : 3;
    }
    case 'text':
      if (a.v === b.v) return 0;
      return jaroWinkler(a.v, b.v) >= 0.9 ? 1 : 2;
    default: {
      const never: never = kind;
      throw new Error(`unknown comparison kind ${String(never)}`);
    }
  }
}
