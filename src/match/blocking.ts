import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { describeRule, type BlockingKeyPart, type BlockingRule, type Model } from './model.ts';
import type { Candidates } from './candidate-pairs.ts';
import { partValue, type KeyParts } from './key-parts.ts';
import type { PreparedRecord } from './prepare-record.ts';
import { prepareFor } from './score.ts';

/** Separates the parts of a key; cannot occur in normalised values. */
const SEP = '\u001f';

/**
 * The key of `record` under rule number `ruleIndex`, or undefined when a part's value is missing
 * (a record without a birthday is found by other rules, never by one that needs it).
 */
export function ruleKey(rule: BlockingRule, ruleIndex: number, record: PreparedRecord, attributes: readonly ComparedAttribute[]): string | undefined {
  const values: string[] = [];
  for (const part of rule.parts) {
    const value = partValue(part, record.features[attributes.indexOf(part.attribute)]);
    if (value === undefined) return undefined;
    values.push(value);
  }
  if (rule.unordered === true) values.sort();
  return `${ruleIndex}:${values.join(SEP)}`;
}

/**
 * The keys under which a record is found as a candidate: two records are compared when they share
 * at least one key. This is what an index of blocking keys (the identity graph's) stores.
 */
export function blockingKeys(model: Model, record: MatchInput): string[] {
  const prepared = prepareFor(model, record);
  const attributes = model.comparisons.map((c) => c.attribute);
  const keys: string[] = [];
  model.blocking.forEach((rule, i) => {
    const key = ruleKey(rule, i, prepared, attributes);
    if (key !== undefined) keys.push(key);
  });
  return keys;
}

/**
 * Default blocking rules for the attributes at hand: each catches duplicates that one kind of error
 * (a typo in a name, a wrong birth date, a moved address) would hide from the others, while
 * keeping blocks small. Names are blocked on their Double Metaphone codes so that spelling
 * variants meet, and on their first three letters so that a typo the codes hear (Bauer, Bquer)
 * still meets; a given name also on its nickname group, with the surname, so that Peggie meets
 * Margaret; dates also on month and day so that a mistyped year meets.
 */
export function defaultBlockingRules(attributes: readonly ComparedAttribute[]): BlockingRule[] {
  const has = (a: ComparedAttribute): boolean => attributes.includes(a);
  const rules: BlockingRule[] = [];
  const rule = (...parts: [ComparedAttribute, BlockingKeyPart['transform']][]): void => {
    if (parts.every(([a]) => has(a))) rules.push({ parts: parts.map(([attribute, transform]) => ({ attribute, transform })) });
  };
  if (has('firstName') && has('lastName')) {
    rules.push({ parts: [{ attribute: 'firstName', transform: 'phonetic' }, { attribute: 'lastName', transform: 'phonetic' }], unordered: true });
  }
  rule(['firstName', 'prefix'], ['lastName', 'prefix']);
  // Nicknames share neither sound nor letters with the name (Peggie and Margaret, Bob and Robert).
  rule(['firstName', 'nickname'], ['lastName', 'exact']);
  rule(['birthday', 'exact']);
  rule(['lastName', 'phonetic'], ['birthday', 'year']);
  rule(['firstName', 'phonetic'], ['birthday', 'year']);
  rule(['lastName', 'prefix'], ['birthday', 'year']);
  rule(['lastName', 'phonetic'], ['birthday', 'monthDay']);
  rule(['firstName', 'phonetic'], ['birthday', 'monthDay']);
  rule(['postalCode', 'exact'], ['streetNumber', 'exact']);
  rule(['street', 'exact'], ['streetNumber', 'exact']);
  rule(['postalCode', 'exact'], ['street', 'exact']);
  rule(['postalCode', 'exact'], ['street', 'prefix']);
  rule(['city', 'exact'], ['street', 'exact']);
  rule(['postalCode', 'exact'], ['birthday', 'year']);
  rule(['address', 'exact']);
  rule(['postalCode', 'exact'], ['address', 'prefix']);
  rule(['postalCode', 'exact'], ['lastName', 'phonetic']);
  rule(['lastName', 'prefix'], ['streetNumber', 'exact']);
  rule(['city', 'exact'], ['lastName', 'phonetic']);
  rule(['city', 'exact'], ['firstName', 'phonetic']);
  rule(['email', 'exact']);
  // The subscriber number: a phone written with and without its country or area code.
  rule(['phone', 'last7']);
  rule(['nationalId', 'exact']);
  for (const a of attributes) if (a.startsWith('id:')) rule([a, 'exact']);
  if (rules.length === 0) {
    // Nothing person-like: block on each attribute alone.
    for (const a of attributes) rule([a, 'exact']);
  }
  return rules;
}

/** A refined rule must still give a key to this share of the records the rule gave one. */
const MIN_REFINED_COVERAGE = 0.8;

/** Key parts that may be added to a rule that proposes too many pairs, in order of preference. */
const REFINERS: readonly BlockingKeyPart[] = [
  { attribute: 'firstName', transform: 'initial' },
  { attribute: 'lastName', transform: 'initial' },
  { attribute: 'birthday', transform: 'year' },
  { attribute: 'postalCode', transform: 'exact' },
  { attribute: 'city', transform: 'exact' },
  { attribute: 'streetNumber', transform: 'exact' },
  { attribute: 'gender', transform: 'exact' },
];

/**
 * Pairs a rule's blocks hold (across the files for a link), blocks above `maxBlockSize` left out,
 * and how many records have a key under it.
 */
function rulePairs(parts: KeyParts, rule: BlockingRule, side: Uint8Array, link: boolean, maxBlockSize: number): { pairs: number; keyed: number } {
  const { ids, count } = parts.blocks(rule);
  let keyed = 0;
  for (let i = 0; i < ids.length; i++) if (ids[i]! >= 0) keyed++;
  const a = new Int32Array(count);
  const b = new Int32Array(count);
  for (let i = 0; i < ids.length; i++) {
    const k = ids[i]!;
    if (k < 0) continue;
    if (link && side[i] === 1) b[k]!++;
    else a[k]!++;
  }
  let pairs = 0;
  for (let k = 0; k < count; k++) {
    if (a[k]! + b[k]! > maxBlockSize) continue;
    pairs += link ? a[k]! * b[k]! : (a[k]! * (a[k]! - 1)) / 2;
  }
  return { pairs, keyed };
}

/**
 * Rules fitted to a pair budget: a rule whose blocks would propose more than `budget` pairs gets
 * one more key part ANDed to it (the first of first-name initial, last-name initial, birth year,
 * postcode, city, house number, gender that at least 80% of the rule's records have and that
 * brings it under the budget, else the one of the first three that comes closest, and once more
 * if needed). A birthday alone blocks
 * ten thousand records into pairs of a few, and a million into blocks of forty: the rule that
 * was right for the first would propose twenty million pairs for the second. Rules under the
 * budget are kept as they are, so small inputs block exactly as before.
 */
export function fitRulesToBudget(
  rules: readonly BlockingRule[],
  parts: KeyParts,
  options: { readonly attributes: readonly ComparedAttribute[]; readonly side: Uint8Array; readonly link: boolean; readonly budget: number; readonly maxBlockSize: number },
): BlockingRule[] {
  const count = (rule: BlockingRule) => rulePairs(parts, rule, options.side, options.link, options.maxBlockSize);
  const out: BlockingRule[] = [];
  const seen = new Set<string>();
  for (let rule of rules) {
    let { pairs, keyed } = count(rule);
    for (let round = 0; round < 2 && pairs > options.budget; round++) {
      let best: { rule: BlockingRule; pairs: number; keyed: number } | undefined;
      let tries = 0;
      for (const extra of REFINERS) {
        if (!options.attributes.includes(extra.attribute) || rule.parts.some((p) => p.attribute === extra.attribute)) continue;
        const refined: BlockingRule = { ...rule, parts: [...rule.parts, extra] };
        const n = count(refined);
        // A part most of the rule's records lack would fit any budget by blocking nobody.
        if (n.keyed < keyed * MIN_REFINED_COVERAGE) continue;
        if (best === undefined || n.pairs < best.pairs) best = { rule: refined, ...n };
        const fits = n.pairs <= options.budget;
        // Each try is a pass over every record: three are enough to find a good one.
        if (fits || ++tries === 3) break;
      }
      if (best === undefined) break;
      rule = best.rule;
      pairs = best.pairs;
      keyed = best.keyed;
    }
    // Two rules can end up the same (birthday + first initial twice): keep one.
    const name = describeRule(rule);
    if (seen.has(name)) continue;
    seen.add(name);
    out.push(rule);
  }
  return out;
}

/** For each candidate pair, a bit per rule the pair satisfies (which EM sessions it belongs to). */
export function ruleMasks(
  records: readonly PreparedRecord[],
  attributes: readonly ComparedAttribute[],
  rules: readonly BlockingRule[],
  candidates: Candidates,
): Uint32Array {
  if (candidates.masks !== undefined) return candidates.masks;
  const ids =
    candidates.blockIds ??
    rules.map((rule, r) => {
      const numbering = new Map<string, number>();
      return Int32Array.from(records, (rec) => {
        const k = ruleKey(rule, r, rec, attributes);
        if (k === undefined) return -1;
        let b = numbering.get(k);
        if (b === undefined) numbering.set(k, (b = numbering.size));
        return b;
      });
    });
  const masks = new Uint32Array(candidates.count);
  const width = Math.min(rules.length, 32);
  for (let p = 0; p < candidates.count; p++) {
    const i = candidates.left[p]!;
    const j = candidates.right[p]!;
    let mask = 0;
    for (let r = 0; r < width; r++) {
      const k = ids[r]![i]!;
      if (k >= 0 && k === ids[r]![j]) mask |= 1 << r;
    }
    masks[p] = mask >>> 0;
  }
  return masks;
}
