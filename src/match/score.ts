import type { ComparedAttribute, MatchInput } from './attributes.ts';
import { compareFeatures } from './comparisons.ts';
import type { Model } from './model.ts';
import { prepareRecord, type ComparisonKind, type PreparedRecord } from './prepare-record.ts';

/** Level code for "a value is missing on one side": the comparison contributes nothing. */
export const NULL_LEVEL = 255;

/** A model turned into arrays for the scoring loop; built once per model and cached. */
export interface CompiledModel {
  readonly model: Model;
  readonly attributes: readonly ComparedAttribute[];
  readonly kinds: readonly ComparisonKind[];
  /** For first and last names, the index of the other one (to see swapped names); else -1. */
  readonly partners: readonly number[];
  /** log2(m/u) per comparison and level. */
  readonly weights: readonly Float64Array[];
  /** Per comparison: value → term frequency for the exact level, or undefined without one. */
  readonly frequencies: readonly (((value: string) => number) | undefined)[];
  /** log2(λ / (1 − λ)): the weight of two records about which nothing is known. */
  readonly prior: number;
}

/** For first and last names, the index of the other one (to see swapped names); else -1. */
export function namePartners(attributes: readonly ComparedAttribute[]): number[] {
  return attributes.map((a) => (a === 'firstName' ? attributes.indexOf('lastName') : a === 'lastName' ? attributes.indexOf('firstName') : -1));
}

const cache = new WeakMap<Model, CompiledModel>();

/** Compiles (once) the arrays the scoring loop uses. */
export function compileModel(model: Model): CompiledModel {
  const hit = cache.get(model);
  if (hit !== undefined) return hit;
  const attributes = model.comparisons.map((c) => c.attribute);
  const compiled: CompiledModel = {
    model,
    attributes,
    kinds: model.comparisons.map((c) => c.kind),
    partners: namePartners(attributes),
    weights: model.comparisons.map((c) => Float64Array.from(c.levels, (l) => Math.log2(l.m / l.u))),
    frequencies: model.comparisons.map((c) => {
      const tf = c.termFrequencies;
      if (tf === undefined) return undefined;
      const counts = new Map(Object.entries(tf.counts));
      return (value: string) => (counts.get(value) ?? tf.otherCount) / tf.total;
    }),
    prior: Math.log2(model.lambda / (1 - model.lambda)),
  };
  cache.set(model, compiled);
  return compiled;
}

/** Prepares a record for `model`'s comparisons. */
export function prepareFor(model: Model, input: MatchInput, source: 0 | 1 = 0): PreparedRecord {
  return prepareRecord(input, compileModel(model).attributes, { dateOrder: model.dateOrder, source });
}

/** Writes the agreement level of every comparison of a pair into `out` at `offset`. */
export function compareRecords(compiled: Pick<CompiledModel, 'kinds' | 'partners'>, a: PreparedRecord, b: PreparedRecord, out: Uint8Array, offset: number): void {
  const fa = a.features;
  const fb = b.features;
  for (let c = 0; c < compiled.kinds.length; c++) {
    const x = fa[c];
    const y = fb[c];
    if (x === undefined || y === undefined) {
      out[offset + c] = NULL_LEVEL;
      continue;
    }
    const p = compiled.partners[c]!;
    out[offset + c] = p < 0 ? compareFeatures(compiled.kinds[c]!, x, y) : compareFeatures(compiled.kinds[c]!, x, y, fa[p], fb[p]);
  }
}

/**
 * The weight of the exact level of comparison `c` for value `value`: log2(m / tf(value)) when the
 * model has term frequencies for it, else the level's plain weight.
 */
function exactWeight(compiled: CompiledModel, c: number, value: string): number {
  const frequency = compiled.frequencies[c];
  const plain = compiled.weights[c]![0]!;
  if (frequency === undefined) return plain;
  const m = compiled.model.comparisons[c]!.levels[0]!.m;
  return Math.log2(m / frequency(value));
}

/** The total match weight of a compared pair (prior included), levels as `compareRecords` wrote them. */
export function pairWeight(compiled: CompiledModel, a: PreparedRecord, levels: Uint8Array, offset: number): number {
  let w = compiled.prior;
  for (let c = 0; c < compiled.kinds.length; c++) {
    const level = levels[offset + c]!;
    if (level === NULL_LEVEL) continue;
    w += level === 0 ? exactWeight(compiled, c, a.features[c]!.v) : compiled.weights[c]![level]!;
  }
  return w;
}

/** Match weight (log2 of the odds) → probability. */
export function weightToProbability(weight: number): number {
  return 1 / (1 + Math.pow(2, -weight));
}

/** Probability → match weight. */
export function probabilityToWeight(probability: number): number {
  return Math.log2(probability / (1 - probability));
}

/** One attribute's part in a pair's score, for explanations. */
export interface AttributeScore {
  readonly attribute: ComparedAttribute;
  /** The agreement level (0 = exact), or null when a value is missing on either side. */
  readonly level: number | null;
  readonly label: string | null;
  /** log2(m/u) of the level, term-frequency adjustment included; 0 when missing. */
  readonly weight: number;
  /** How much the value's frequency moved the exact level's weight (negative: a common value). */
  readonly termFrequencyAdjustment: number;
}

export interface PairScore {
  /** log2 of the posterior odds of a match: the prior plus every attribute's weight. */
  readonly weight: number;
  readonly probability: number;
  readonly prior: number;
  readonly attributes: readonly AttributeScore[];
}

/** Scores two prepared records with every attribute's contribution. */
export function scorePrepared(model: Model, a: PreparedRecord, b: PreparedRecord): PairScore {
  const compiled = compileModel(model);
  const levels = new Uint8Array(compiled.kinds.length);
  compareRecords(compiled, a, b, levels, 0);
  const attributes = compiled.attributes.map((attribute, c): AttributeScore => {
    const level = levels[c]!;
    if (level === NULL_LEVEL) return { attribute, level: null, label: null, weight: 0, termFrequencyAdjustment: 0 };
    const plain = compiled.weights[c]![level]!;
    const weight = level === 0 ? exactWeight(compiled, c, a.features[c]!.v) : plain;
    return { attribute, level, label: model.comparisons[c]!.levels[level]!.label, weight, termFrequencyAdjustment: weight - plain };
  });
  const weight = compiled.prior + attributes.reduce((s, x) => s + x.weight, 0);
  return { weight, probability: weightToProbability(weight), prior: compiled.prior, attributes };
}

/**
 * Scores two records under a model: the total match weight, the match probability, and each
 * attribute's level and weight (what `explain` shows for a probabilistic link).
 */
export function scorePair(model: Model, a: MatchInput, b: MatchInput): PairScore {
  return scorePrepared(model, prepareFor(model, a), prepareFor(model, b));
}
