import type { ComparedAttribute } from './attributes.ts';
import { LEVELS } from './comparisons.ts';
import type { MatchSession } from './match-session.ts';
import { NULL_LEVEL } from './score.ts';

/**
 * Households: several people who share a surname, an address, a phone or an email. Fellegi–Sunter
 * counts each shared attribute as independent evidence of one person, so a family sharing five
 * of them (surname, street, town, postcode, email) outweighs a different first name and a birth
 * date decades apart: a mother, a son and twins become one profile. Whether data holds
 * households is a property of the data, not of a pair: in FEBRL, records sharing a surname and
 * an address whose first names and birth dates both differ are the same person with two errors,
 * as often as the model's m predicts; in customer data with families they are far more often two
 * people. Training measures it (`detectHouseholds`); a model trained on data with households
 * caps what the shared attributes can say when the personal ones contradict (see score.ts).
 */

/** A shared surname and one of these (exactly) make a pair of records a possible household. */
export const SHARED: readonly ComparedAttribute[] = ['address', 'street', 'phone', 'email'];

/** The levels at which two names and two dates say "another person": "different" (see LEVELS). */
export const NAME_DIFFERS = LEVELS.name.length - 1;
export const DATE_DIFFERS = LEVELS.date.length - 1;

/** Household pairs that must contradict at least, before data is said to hold households. */
const MIN_CONTRADICTIONS = 5;
/** …and how many times more often than two errors of one person (by the model's m) explain. */
const EXCESS = 4;

/**
 * Whether the session's data holds households: among candidate pairs agreeing exactly on the
 * surname and on an address, street, phone or email, and carrying both a first name and a birth
 * date, those whose first names and birth dates both differ are at least `EXCESS` times as
 * common as the model's m says such double errors are among matches (and at least
 * `MIN_CONTRADICTIONS`). `m` is per comparison and level, as trained.
 */
export function detectHouseholds(session: MatchSession, m: readonly (readonly number[])[]): boolean {
  const at = (a: ComparedAttribute): number => session.attributes.indexOf(a);
  const last = at('lastName');
  const first = at('firstName');
  const birthday = at('birthday');
  const shared = SHARED.map(at).filter((c) => c >= 0);
  if (last < 0 || first < 0 || birthday < 0 || shared.length === 0) return false;
  const width = session.attributes.length;
  const levels = session.levels;
  let pairs = 0;
  let contradictions = 0;
  for (let p = 0; p < session.candidates.count; p++) {
    const o = p * width;
    if (levels[o + last] !== 0 || levels[o + first] === NULL_LEVEL || levels[o + birthday] === NULL_LEVEL) continue;
    if (!shared.some((c) => levels[o + c] === 0)) continue;
    pairs++;
    if (levels[o + first]! >= NAME_DIFFERS && levels[o + birthday]! >= DATE_DIFFERS) contradictions++;
  }
  if (contradictions < MIN_CONTRADICTIONS) return false;
  const sum = (row: readonly number[], from: number): number => row.slice(from).reduce((s, x) => s + x, 0);
  const expected = sum(m[first]!, NAME_DIFFERS) * sum(m[birthday]!, DATE_DIFFERS);
  return contradictions / pairs >= EXCESS * expected;
}
