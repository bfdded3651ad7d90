import { createHash } from 'node:crypto';
import { parseAttribute, type ComparedAttribute } from './attributes.ts';
import { LEVELS } from './comparisons.ts';
import type { DateOrder } from './normalise.ts';
import { kindOf, type ComparisonKind } from './prepare-record.ts';

export const MODEL_FORMAT = 'kith.match-model' as const;
/** 2: dates have seven levels (which part of a date differs is a level of its own). */
export const MODEL_FORMAT_VERSION = 2 as const;

/** One agreement level: the probability of seeing it among matches (m) and non-matches (u). */
export interface LevelModel {
  readonly label: string;
  readonly m: number;
  readonly u: number;
}

/**
 * Term frequencies of one attribute's values, for the exact level: agreeing on a rare surname is
 * stronger evidence than agreeing on "smith". Only the most frequent values are kept; any other
 * value counts `otherCount` occurrences.
 */
export interface TermFrequencies {
  readonly total: number;
  readonly otherCount: number;
  readonly counts: Readonly<Record<string, number>>;
}

/** The largest number of values kept in a term-frequency table. */
export const TF_MAX_VALUES = 10_000;

export interface ComparisonModel {
  readonly attribute: ComparedAttribute;
  readonly kind: ComparisonKind;
  readonly levels: readonly LevelModel[];
  readonly termFrequencies?: TermFrequencies;
}

/**
 * How a blocking key is derived from an attribute's normalised value: the value itself, its
 * Double Metaphone code (names), its first character, its first three characters (`prefix`,
 * without spaces), a date's year, a date's month and day (`monthDay`: finds a mistyped year), the
 * last seven characters (`last7`: a phone's subscriber number, with or without its prefixes), or
 * a given name's nickname group (`nickname`: Peggie and Margaret; names in no group have none).
 */
export type BlockingTransform = 'exact' | 'phonetic' | 'initial' | 'prefix' | 'year' | 'monthDay' | 'last7' | 'nickname';
export const BLOCKING_TRANSFORMS: readonly BlockingTransform[] = ['exact', 'phonetic', 'initial', 'prefix', 'year', 'monthDay', 'last7', 'nickname'];

export interface BlockingKeyPart {
  readonly attribute: ComparedAttribute;
  readonly transform: BlockingTransform;
}

/** Records are candidates when every part agrees (AND); a model's rules are alternatives (OR). */
export interface BlockingRule {
  readonly parts: readonly BlockingKeyPart[];
  /** Compare the parts' values as a set, not in order: finds first and last names swapped. */
  readonly unordered?: boolean;
}

/** What training saw and did, kept with the model for reports. */
export interface TrainingSummary {
  readonly records: number;
  readonly supervised: boolean;
  /** Pairs agreeing on a deterministic rule, which set λ (unsupervised training). */
  readonly deterministicPairs: number;
  readonly deterministicRecall: number;
  readonly randomPairs: number;
  readonly emSessions: readonly { readonly rule: string; readonly pairs: number; readonly iterations: number; readonly converged: boolean }[];
}

/**
 * A trained Fellegi–Sunter model. Pure data, serialisable as JSON; `version` is a hash of
 * everything that affects scores, so two models that score alike carry the same version.
 */
export interface Model {
  readonly format: typeof MODEL_FORMAT;
  readonly formatVersion: typeof MODEL_FORMAT_VERSION;
  readonly version: string;
  readonly trainedAt: string;
  readonly mode: 'dedupe' | 'link';
  /** Prior probability that two random records match. */
  readonly lambda: number;
  /** Match probability at and above which pairs are linked when clustering. */
  readonly threshold: number;
  readonly dateOrder: DateOrder;
  readonly comparisons: readonly ComparisonModel[];
  readonly blocking: readonly BlockingRule[];
  /**
   * The data holds households (see households.ts): shared surnames, addresses, phones and emails
   * cannot outweigh a first name and birth date that say another person. Absent: false.
   */
  readonly households?: boolean;
  readonly training: TrainingSummary;
}

/** `lastName.phonetic & birthday.year`. */
export function describeRule(rule: BlockingRule): string {
  const parts = rule.parts.map((p) => `${p.attribute}.${p.transform}`);
  return rule.unordered === true ? `{${parts.join(', ')}} in any order` : parts.join(' & ');
}

/** The model's version: a hash of everything that changes scores or candidates. */
export function modelVersion(model: Omit<Model, 'version' | 'trainedAt' | 'training'>): string {
  // `households` joins the hash only when set, so models trained before it keep their versions.
  const content = JSON.stringify([model.format, model.formatVersion, model.mode, model.lambda, model.threshold, model.dateOrder, model.comparisons, model.blocking, ...(model.households === true ? ['households'] : [])]);
  return `m_${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;
}

/** Something wrong with a model document; `field` is the JSON path of the offending value. */
export class ModelFormatError extends Error {
  readonly code = 'invalid_model';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'ModelFormatError';
  }
}

function fail(field: string, message: string): never {
  throw new ModelFormatError(`${field}: ${message}`, field);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function probability(v: unknown, field: string, { open = false } = {}): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1 || (open && (v === 0 || v === 1))) fail(field, `must be a probability${open ? ' strictly between 0 and 1' : ''}`);
  return v;
}

function attributeOf(v: unknown, field: string): ComparedAttribute {
  const a = typeof v === 'string' ? parseAttribute(v) : undefined;
  if (a === undefined || a === 'fullName' || a === 'birthYear' || a === 'birthMonth' || a === 'birthDay') fail(field, 'is not a compared attribute');
  return a;
}

/**
 * Parses and checks a model document (from a file or a database column), so code that scores can
 * trust it: known format and version, levels matching the code's comparisons, probabilities in
 * range, blocking rules over compared attributes.
 */
export function parseModel(json: unknown): Model {
  if (!isObject(json)) fail('$', 'a model is a JSON object');
  if (json.format !== MODEL_FORMAT) fail('format', `must be "${MODEL_FORMAT}"`);
  if (json.formatVersion !== MODEL_FORMAT_VERSION) fail('formatVersion', `this kith reads version ${MODEL_FORMAT_VERSION}`);
  if (json.mode !== 'dedupe' && json.mode !== 'link') fail('mode', 'must be "dedupe" or "link"');
  if (json.dateOrder !== 'mdy' && json.dateOrder !== 'dmy') fail('dateOrder', 'must be "mdy" or "dmy"');
  const lambda = probability(json.lambda, 'lambda', { open: true });
  const threshold = probability(json.threshold, 'threshold');
  if (!Array.isArray(json.comparisons) || json.comparisons.length === 0) fail('comparisons', 'must be a non-empty array');
  const seen = new Set<string>();
  const comparisons = json.comparisons.map((c: unknown, i): ComparisonModel => {
    const at = `comparisons[${i}]`;
    if (!isObject(c)) fail(at, 'must be an object');
    const attribute = attributeOf(c.attribute, `${at}.attribute`);
    if (seen.has(attribute)) fail(`${at}.attribute`, `"${attribute}" is compared twice`);
    seen.add(attribute);
    const kind = kindOf(attribute);
    if (c.kind !== kind) fail(`${at}.kind`, `must be "${kind}" for ${attribute}`);
    const labels = LEVELS[kind];
    if (!Array.isArray(c.levels) || c.levels.length !== labels.length) fail(`${at}.levels`, `must have ${labels.length} levels`);
    const levels = c.levels.map((l: unknown, j): LevelModel => {
      if (!isObject(l)) fail(`${at}.levels[${j}]`, 'must be an object');
      return { label: labels[j]!, m: probability(l.m, `${at}.levels[${j}].m`, { open: true }), u: probability(l.u, `${at}.levels[${j}].u`, { open: true }) };
    });
    let termFrequencies: TermFrequencies | undefined;
    if (c.termFrequencies !== undefined) {
      const tf = c.termFrequencies;
      if (!isObject(tf) || typeof tf.total !== 'number' || !(tf.total > 0) || typeof tf.otherCount !== 'number' || !(tf.otherCount >= 1) || !isObject(tf.counts)) {
        fail(`${at}.termFrequencies`, 'must be {total, otherCount, counts}');
      }
      const counts: Record<string, number> = {};
      for (const [value, n] of Object.entries(tf.counts)) {
        if (typeof n !== 'number' || !(n >= 1)) fail(`${at}.termFrequencies.counts`, `count of "${value}" must be a positive number`);
        counts[value] = n;
      }
      termFrequencies = { total: tf.total, otherCount: tf.otherCount, counts };
    }
    return { attribute, kind, levels, ...(termFrequencies === undefined ? {} : { termFrequencies }) };
  });
  if (!Array.isArray(json.blocking) || json.blocking.length === 0) fail('blocking', 'must be a non-empty array of rules');
  const blocking = json.blocking.map((r: unknown, i): BlockingRule => {
    if (!isObject(r) || !Array.isArray(r.parts) || r.parts.length === 0) fail(`blocking[${i}].parts`, 'must be a non-empty array');
    if (r.unordered !== undefined && typeof r.unordered !== 'boolean') fail(`blocking[${i}].unordered`, 'must be a boolean');
    const parts = r.parts.map((p: unknown, j): BlockingKeyPart => {
        const at = `blocking[${i}].parts[${j}]`;
        if (!isObject(p)) fail(at, 'must be an object');
        const attribute = attributeOf(p.attribute, `${at}.attribute`);
        if (!seen.has(attribute)) fail(`${at}.attribute`, `"${attribute}" is not compared by this model`);
        if (!BLOCKING_TRANSFORMS.includes(p.transform as BlockingTransform)) fail(`${at}.transform`, `must be one of ${BLOCKING_TRANSFORMS.join(', ')}`);
        return { attribute, transform: p.transform as BlockingTransform };
      });
    return r.unordered === true ? { parts, unordered: true } : { parts };
  });
  const training = isObject(json.training) ? (json.training as unknown as TrainingSummary) : fail('training', 'must be an object');
  if (json.households !== undefined && typeof json.households !== 'boolean') fail('households', 'must be a boolean');
  const base = { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, mode: json.mode, lambda, threshold, dateOrder: json.dateOrder, comparisons, blocking, ...(json.households === true ? { households: true } : {}) } as const;
  // The version is always recomputed: a hand-edited threshold or weight is a different model.
  const version = modelVersion(base);
  const trainedAt = typeof json.trainedAt === 'string' ? json.trainedAt : fail('trainedAt', 'must be a string');
  return { ...base, version, trainedAt, training };
}
