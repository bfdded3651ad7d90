import type { ComparisonKind } from './prepare-record.ts';

/**
 * Evidence about a pair that the attribute-by-attribute Fellegi–Sunter sum does not carry well,
 * because its premise (each attribute independent evidence, its weight learnt from the data)
 * does not hold for it:
 *
 * - **Identity documents** (a national id, passport, driving licence, tax id: comparisons of kind
 *   `identifier`) are issued one per person. Two people share a number only by a typo or fraud,
 *   not by the chance that term frequencies measure: in a file where nine records carry an SSN,
 *   two of them agreeing is not a one-in-nine coincidence. Exact agreement on a number few
 *   records carry weighs at least `DECISIVE_WEIGHT`. Two different numbers of the same document
 *   (a typo of one edit aside) say two people: the comparison's "different" level weighs
 *   `VETO_WEIGHT`, which no agreement elsewhere outweighs.
 * - **Generations** (see generation.ts): a Sr and a Jr are two people (`VETO_WEIGHT`).
 *
 * A vetoed pair also stops clustering from joining the groups its records are in (its weight is
 * far below any stranger threshold), so no chain of other links puts them together.
 */

/** The weight of a contradiction: two different documents of one kind, two generations. */
export const VETO_WEIGHT = -60;

/**
 * The least weight of exact agreement on an identity document number: a chance collision about
 * once in a million pairs.
 */
export const DECISIVE_WEIGHT = 20;

/**
 * A document number carried by more records than this is shared (a placeholder, a company's
 * number on its staff records): its exact weight is its term-frequency weight alone.
 */
export const DECISIVE_MAX_HOLDERS = 10;

/** Whether comparisons of `kind` are identity documents (see above). */
export function isDocument(kind: ComparisonKind): boolean {
  return kind === 'identifier';
}

/** The weight of exact agreement on a document number held by `holders` records. */
export function documentExactWeight(termFrequencyWeight: number, holders: number): number {
  return holders <= DECISIVE_MAX_HOLDERS ? Math.max(termFrequencyWeight, DECISIVE_WEIGHT) : termFrequencyWeight;
}

/**
 * The parts of one postal address. They are not independent evidence: a person who moved
 * disagrees on the street, town, postcode and state together. Summed one by one, a move
 * outweighed a shared identity document, and kept apart records that the document joins. When
 * something that does not change with the address agrees exactly (see `vouchesForMove`), the
 * address parts that disagree count once (the strongest disagreement). Without it they still
 * count one by one: in data where people do not move (FEBRL), each differing part is evidence of
 * two people, and counting them once let namesakes at different addresses match.
 */
export const ADDRESS_PARTS: ReadonlySet<string> = new Set(['streetNumber', 'street', 'address', 'city', 'postalCode', 'state', 'country']);

/**
 * Numbers a person keeps when they move and that are not made from their name: a phone (a
 * mobile). An email is not one of them: its user name is often the person's name
 * (jerry.williams@, tmoore@), so two namesakes at one mail provider share it far more often than
 * its frequency says, and that agreement is the names' agreement once more. On 100,000 generated
 * people, whose emails are made so, letting emails vouch joined 83 pairs of namesakes at two
 * addresses (F1 0.9875 → 0.9872).
 */
export const PERSONAL_NUMBERS: ReadonlySet<string> = new Set(['phone']);

/**
 * Whether exact agreement on comparison `attribute` (of `kind`), on a value `holders` records
 * carry, vouches that two records are one person who moved, so that their address parts count
 * once: an identity document always; a phone when few records carry it (at most
 * `DECISIVE_MAX_HOLDERS`), so that it is someone's own, not an office's switchboard that many
 * people use. Two namesakes at two addresses share no number of their own.
 */
export function vouchesForMove(attribute: string, kind: ComparisonKind, holders: number): boolean {
  return isDocument(kind) || (PERSONAL_NUMBERS.has(attribute) && holders <= DECISIVE_MAX_HOLDERS);
}
