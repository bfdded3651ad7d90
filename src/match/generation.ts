import type { MatchInput } from './attributes.ts';

/**
 * Generational suffixes (Sr/Jr, I/II/III/IV), read from a record's raw name values. Name
 * normalising drops them, so that "Brown Jr" and "Brown" compare as the same surname, but they
 * are evidence of their own: a father and a son share a name and an address, often a phone, and
 * a "Sr" and a "Jr" are two people whatever else agrees. Senior counts as the first generation
 * and Junior as the second, as they are used.
 */
const GENERATIONS: Readonly<Record<string, number>> = {
  sr: 1,
  senior: 1,
  i: 1,
  jr: 2,
  junior: 2,
  ii: 2,
  iii: 3,
  iv: 4,
};

const SUFFIX = /(?:^|[\s.,])(sr|senior|jr|junior|i{1,3}|iv)\.?\s*$/i;

/**
 * The generation a name value ends with (1 for Sr or I, 2 for Jr or II, 3, 4), or 0. Only the
 * last word counts, and never a name's only word: "I" alone is an initial, "Smith Sr" a suffix.
 */
function generationOfValue(raw: string | undefined): number {
  if (raw === undefined) return 0;
  // Most names end in a letter no suffix ends in: settled without the expression.
  let end = raw.length - 1;
  while (end >= 0 && (raw.charCodeAt(end) === 32 || raw.charCodeAt(end) === 46)) end--;
  const last = end < 0 ? 0 : raw.charCodeAt(end) | 32;
  if (last !== 114 && last !== 105 && last !== 118) return 0; // r (Sr, Jr, Senior, Junior), i, v
  const found = SUFFIX.exec(raw.trim());
  if (found === null || found.index === 0) return 0;
  return GENERATIONS[found[1]!.toLowerCase()] ?? 0;
}

/**
 * The generation a record's names carry (see `GENERATIONS`), 0 when none does. A full name is
 * read as written, so a suffix after a comma ("Hughes, Howard Jr") or at the end counts.
 */
export function generationOf(values: MatchInput['values']): number {
  return generationOfValue(values.lastName) || generationOfValue(values.firstName) || generationOfValue(values.middleName) || generationOfValue(values.fullName);
}

/** Two records of different generations (a Sr and a Jr, a II and a III) are two people. */
export function generationsConflict(a: number, b: number): boolean {
  return a !== 0 && b !== 0 && a !== b;
}
