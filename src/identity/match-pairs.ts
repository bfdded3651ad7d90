import { createHash } from 'node:crypto';
import type { Model } from '../match/model.ts';
import { scorePair, type PairScore } from '../match/score.ts';
import type { JsonValue } from '../spec/segment-message.ts';
import type { MatchPair, MatchRecord, PairStatus } from '../store/match-ports.ts';
import { compareEventKeys } from './event-order.ts';
import { splitIdentifierKey, type IdentifierKey } from './identifier.ts';
import type { MatchingSettings } from './match-settings.ts';
import { toMatchInput } from './match-records.ts';
import { typeRule, type IdentityRules } from './rules.ts';

/** The pair's id: stable for the two identifiers, whichever order they come in. */
export function pairId(a: IdentifierKey, b: IdentifierKey): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return `mp_${createHash('sha256').update(`${x}\n${y}`).digest('hex').slice(0, 20)}`;
}

/** Where a link between two records sits in canonical order: the later record's first call. */
export function edgeKey(a: MatchRecord, b: MatchRecord): { t: number; m: string } {
  const x = { t: a.firstT, m: a.firstM };
  const y = { t: b.firstT, m: b.firstM };
  return compareEventKeys(x, y) >= 0 ? x : y;
}

export function scoreRecords(model: Model, a: MatchRecord, b: MatchRecord): PairScore {
  return scorePair(model, toMatchInput(a), toMatchInput(b));
}

/**
 * Per-attribute weights as stored with a pair (rounded: they are for people to read), followed by
 * the score's corrections beyond its attributes (generations that differ, a move counted once, a
 * household's shared attributes counted once) as entries of attribute `evidence`, so that what
 * `explain` and the review queue show adds up to the pair's weight.
 */
export function attributeWeights(score: PairScore): JsonValue {
  const round = (x: number): number => Math.round(x * 1000) / 1000;
  return [
    ...score.attributes.map((a) => ({
      attribute: a.attribute,
      level: a.level,
      label: a.label,
      weight: round(a.weight),
      termFrequencyAdjustment: round(a.termFrequencyAdjustment),
    })),
    ...score.evidence.map((e) => ({ attribute: 'evidence', level: null, label: e.reason, weight: round(e.weight), termFrequencyAdjustment: 0 })),
  ];
}

/**
 * Two identifiers of one type limited to one per profile (two `user_id`s) can never be joined by a
 * link: merge protection would refuse it. Such pairs are not put in front of a reviewer.
 */
export function neverJoinable(a: IdentifierKey, b: IdentifierKey, rules: IdentityRules): boolean {
  const ta = splitIdentifierKey(a).type;
  return ta === splitIdentifierKey(b).type && typeRule(rules, ta).limit === 1;
}

export interface PairDecision {
  /** The pair to store (new or updated), if any. */
  readonly save?: MatchPair;
  /** The id of a pair to delete, if any. */
  readonly remove?: string;
  /** True when the pair's evidence changed (a link appeared, went, or moved): re-resolve its ends. */
  readonly edgeChanged: boolean;
}

/** An accepted link follows its records: it sits right after the later record's first call. */
export function repositionAccepted(existing: MatchPair, a: MatchRecord, b: MatchRecord): PairDecision {
  const key = edgeKey(a, b);
  if (existing.t === key.t && existing.m === key.m) return { edgeChanged: false };
  return { save: { ...existing, t: key.t, m: key.m }, edgeChanged: true };
}

const isEdge = (s: PairStatus | undefined): boolean => s === 'linked' || s === 'accepted';

/**
 * What a fresh score means for a pair. Human decisions (accepted, rejected) stand whatever the
 * score; an accepted link follows its records' first calls. Otherwise: at or above autoLink a link,
 * between review and autoLink a review queue entry (unless the two cannot be joined or are already
 * one profile), below review nothing.
 */
export function decidePair(input: {
  readonly existing: MatchPair | undefined;
  readonly a: MatchRecord;
  readonly b: MatchRecord;
  readonly score: PairScore;
  readonly model: Model;
  readonly settings: MatchingSettings;
  readonly rules: IdentityRules;
  readonly together: boolean;
  readonly now: number;
}): PairDecision {
  const { existing, a, b, score, settings } = input;
  const key = edgeKey(a, b);
  if (existing?.status === 'rejected') return { edgeChanged: false };
  if (existing?.status === 'accepted') return repositionAccepted(existing, a, b);
  let status: PairStatus | undefined;
  if (score.probability >= settings.autoLink) status = 'linked';
  else if (score.probability >= settings.review && (existing !== undefined || (!input.together && !neverJoinable(a.key, b.key, input.rules)))) status = 'review';
  if (status === undefined) return existing === undefined ? { edgeChanged: false } : { remove: existing.id, edgeChanged: isEdge(existing.status) };
  const [x, y] = a.key < b.key ? [a.key, b.key] : [b.key, a.key];
  const pair: MatchPair = {
    id: pairId(x, y),
    a: x,
    b: y,
    status,
    weight: score.weight,
    probability: score.probability,
    modelVersion: input.model.version,
    attributes: attributeWeights(score),
    t: key.t,
    m: key.m,
    createdAt: existing?.createdAt ?? input.now,
    decidedAt: null,
  };
  const moved = existing === undefined || existing.t !== key.t || existing.m !== key.m;
  const edgeChanged = isEdge(status) !== isEdge(existing?.status) || (isEdge(status) && moved);
  if (existing !== undefined && existing.status === status && !moved && existing.modelVersion === pair.modelVersion && Math.abs(existing.weight - pair.weight) < 1e-9) {
    return { edgeChanged: false };
  }
  return { save: pair, edgeChanged };
}
