import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { findCandidates, type Candidates } from './blocking.ts';
import type { BlockingRule } from './model.ts';
import type { DateOrder } from './normalise.ts';
import { comparedAttributes, kindOf, prepareRecord, type ComparisonKind, type PreparedRecord } from './prepare-record.ts';
import { compareRecords, namePartners } from './score.ts';

/** Records to dedupe (one list) or to link (two lists). */
export type MatchData = readonly MatchInput[] | { readonly left: readonly MatchInput[]; readonly right: readonly MatchInput[] };

/**
 * The working set of one matching run: prepared records, candidate pairs from blocking and their
 * comparison levels. Training and scoring share it, so each pair is compared once.
 */
export interface MatchSession {
  readonly link: boolean;
  readonly attributes: readonly ComparedAttribute[];
  readonly kinds: readonly ComparisonKind[];
  readonly partners: readonly number[];
  readonly records: readonly PreparedRecord[];
  readonly rules: readonly BlockingRule[];
  readonly candidates: Candidates;
  /** Levels of candidate pair p at [p * attributes.length, (p + 1) * attributes.length). */
  readonly levels: Uint8Array;
}

export interface SessionOptions {
  /** The attributes to compare; default: every attribute some record has. */
  readonly attributes?: readonly ComparedAttribute[];
  readonly dateOrder: DateOrder;
  readonly rules: (attributes: readonly ComparedAttribute[]) => readonly BlockingRule[];
  readonly maxBlockSize: number;
}

/** The attributes present in at least one record, in the matcher's order. */
export function attributesOf(data: MatchData): ComparedAttribute[] {
  const seen = new Set<keyof MatchInput['values']>();
  const scan = (rows: readonly MatchInput[]): void => {
    for (const r of rows) for (const [k, v] of Object.entries(r.values)) if (v !== undefined && v !== '') seen.add(k as keyof MatchInput['values']);
  };
  if (Array.isArray(data)) scan(data as readonly MatchInput[]);
  else {
    const d = data as { left: readonly MatchInput[]; right: readonly MatchInput[] };
    scan(d.left);
    scan(d.right);
  }
  return comparedAttributes(seen);
}

/** Prepares the records, finds candidate pairs and compares each of them. */
export function openSession(data: MatchData, options: SessionOptions): MatchSession {
  const link = !Array.isArray(data);
  const attributes = options.attributes ?? attributesOf(data);
  if (attributes.length === 0) throw new Error('no attribute to compare: map at least one column to a matcher attribute');
  const read = { dateOrder: options.dateOrder };
  const records: PreparedRecord[] = link
    ? [
        ...(data as { left: readonly MatchInput[] }).left.map((r) => prepareRecord(r, attributes, { ...read, source: 0 })),
        ...(data as { right: readonly MatchInput[] }).right.map((r) => prepareRecord(r, attributes, { ...read, source: 1 })),
      ]
    : (data as readonly MatchInput[]).map((r) => prepareRecord(r, attributes, read));
  const rules = options.rules(attributes);
  const candidates = findCandidates(records, attributes, rules, { link, maxBlockSize: options.maxBlockSize });
  const kinds = attributes.map(kindOf);
  const partners = namePartners(attributes);
  const width = attributes.length;
  const levels = new Uint8Array(candidates.count * width);
  const comparer = { kinds, partners };
  for (let p = 0; p < candidates.count; p++) {
    compareRecords(comparer, records[candidates.left[p]!]!, records[candidates.right[p]!]!, levels, p * width);
  }
  return { link, attributes, kinds, partners, records, rules, candidates, levels };
}
