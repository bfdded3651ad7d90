/**
 * String similarity measures used by the comparisons. Both work on UTF-16 code units, which is
 * exact for the normalised (diacritic-free, lower-case) strings the matcher compares.
 */

let flagsA = new Uint8Array(64);
let flagsB = new Uint8Array(64);
let rowA = new Int32Array(64);
let rowB = new Int32Array(64);
let rowC = new Int32Array(64);

/**
 * Jaro–Winkler similarity in [0, 1] (1 = equal), with the usual prefix scale 0.1 over at most four
 * leading characters (Winkler 1990). Two empty strings are equal (1); one empty string is 0.
 */
export function jaroWinkler(a: string, b: string): number {
  if (a === b) return 1;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return 0;
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  // Reused scratch flags: this runs millions of times per matching run.
  if (flagsA.length < la) flagsA = new Uint8Array(la * 2);
  if (flagsB.length < lb) flagsB = new Uint8Array(lb * 2);
  const matchedA = flagsA;
  const matchedB = flagsB;
  matchedA.fill(0, 0, la);
  matchedB.fill(0, 0, lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const lo = Math.max(0, i - window);
    const hi = Math.min(lb - 1, i + window);
    const c = a.charCodeAt(i);
    for (let j = lo; j <= hi; j++) {
      if (matchedB[j] === 0 && b.charCodeAt(j) === c) {
        matchedA[i] = 1;
        matchedB[j] = 1;
        matches++;
        break;
      }
    }
  }
  if (matches === 0) return 0;
  let transpositions = 0;
  let k = 0;
  for (let i = 0; i < la; i++) {
    if (matchedA[i] === 0) continue;
    while (matchedB[k] === 0) k++;
    if (a.charCodeAt(i) !== b.charCodeAt(k)) transpositions++;
    k++;
  }
  const jaro = (matches / la + matches / lb + (matches - transpositions / 2) / matches) / 3;
  let prefix = 0;
  const maxPrefix = Math.min(4, la, lb);
  while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return jaro + prefix * 0.1 * (1 - jaro);
}

/**
 * Damerau–Levenshtein distance in its "optimal string alignment" form: insertions, deletions,
 * substitutions and transpositions of adjacent characters each cost 1, no substring edited twice.
 * `max` bounds the work: once the distance is certainly above it, `max + 1` is returned.
 */
export function damerauLevenshtein(a: string, b: string, max = Number.POSITIVE_INFINITY): number {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  if (Math.abs(la - lb) > max) return max + 1;
  if (la === 0) return lb;
  if (lb === 0) return la;
  // Three rolling rows (two back, for transpositions; previous; current), reused across calls.
  if (rowA.length <= lb) {
    rowA = new Int32Array((lb + 1) * 2);
    rowB = new Int32Array((lb + 1) * 2);
    rowC = new Int32Array((lb + 1) * 2);
  }
  let prev2 = rowA;
  let prev = rowB;
  let cur = rowC;
  for (let j = 0; j <= lb; j++) prev[j] = j;
  for (let i = 1; i <= la; i++) {
    cur[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= lb; j++) {
      const cb = b.charCodeAt(j - 1);
      const cost = ca === cb ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return prev[lb]!;
}

/** Whether a[from..] and b[from + shift..] are equal to their ends (shift 0 or ±1 in length). */
function tailsEqual(a: string, i: number, b: string, j: number): boolean {
  if (a.length - i !== b.length - j) return false;
  for (; i < a.length; i++, j++) if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
  return true;
}

/**
 * Whether the Damerau–Levenshtein (optimal string alignment) distance is at most 1, in one pass
 * without a table: `damerauLevenshtein(a, b, 1) <= 1`, many times faster, for the comparisons'
 * "one edit" levels that most pairs (different values) fail at the first differing character.
 */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (la - lb > 1 || lb - la > 1) return false;
  let i = 0;
  const n = Math.min(la, lb);
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (la === lb) {
    if (tailsEqual(a, i + 1, b, i + 1)) return true;
    return i + 1 < la && a.charCodeAt(i) === b.charCodeAt(i + 1) && a.charCodeAt(i + 1) === b.charCodeAt(i) && tailsEqual(a, i + 2, b, i + 2);
  }
  return la > lb ? tailsEqual(a, i + 1, b, i) : tailsEqual(a, i, b, i + 1);
}

const counts = new Int32Array(128);

/**
 * Whether `jaroWinkler(a, b) >= threshold`, skipping the computation when a bound already rules
 * it out: the number of common characters is at most their multiset intersection (ignoring the
 * match window), transpositions only lower Jaro, and the prefix bonus is that of the common
 * prefix the strings actually have. Most candidate pairs differ outright (two addresses, two
 * surnames), and the bound costs a pass over each string.
 */
export function jaroWinklerAtLeast(a: string, b: string, threshold: number): boolean {
  if (a === b) return true;
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return threshold <= 0;
  let common = 0;
  let plain = true;
  let counted = 0;
  for (; counted < la; counted++) {
    const c = a.charCodeAt(counted);
    if (c >= 128) {
      plain = false;
      break;
    }
    counts[c]!++;
  }
  if (plain) {
    for (let j = 0; j < lb; j++) {
      const c = b.charCodeAt(j);
      if (c < 128 && counts[c]! > 0) {
        counts[c]!--;
        common++;
      }
    }
  }
  // Only a's characters were counted up: clearing them leaves the table all zero.
  for (let i = 0; i < counted; i++) counts[a.charCodeAt(i)] = 0;
  if (plain) {
    let prefix = 0;
    const maxPrefix = Math.min(4, la, lb);
    while (prefix < maxPrefix && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
    const jaroBound = (common / la + common / lb + 1) / 3;
    if (jaroBound + prefix * 0.1 * (1 - jaroBound) < threshold) return false;
  }
  return jaroWinkler(a, b) >= threshold;
}
