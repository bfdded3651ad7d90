import { HOUSEHOLD_ATTRIBUTES, type ComparedAttribute } from './attributes.ts';
import { defaultBlockingRules, ruleMasks } from './blocking.ts';
import { findCandidates } from './candidate-pairs.ts';
import { LEVELS } from './comparisons.ts';
import { countPatterns, countPatternsByMask, expectationMaximisation, indexPatterns, type PatternIndex } from './em.ts';
import { openSession, type MatchSession, type MatchSource } from './match-session.ts';
import {
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  describeRule,
  modelVersion,
  type BlockingRule,
  type ComparisonModel,
  type Model,
  TF_MAX_VALUES,
  type TermFrequencies,
  type TrainingSummary,
} from './model.ts';
import type { DateOrder } from './normalise.ts';
import type { ComparisonKind } from './prepare-record.ts';
import type { BlockingKeyPart } from './model.ts';
import { createRandom } from '../random.ts';
import { detectHouseholds } from './households.ts';
import { NULL_LEVEL, compareAttribute, compareRecords, compileModel, pairWeight } from './score.ts';
import { float64s, inArena, int32s, uint8s } from './typed-arena.ts';

/**
 * Known truth for supervised training: clusters (record id → entity id, covering every labelled
 * record) and/or labelled pairs.
 */
export interface Labels {
  readonly clusters?: ReadonlyMap<string, string>;
  readonly pairs?: readonly { readonly a: string; readonly b: string; readonly match: boolean }[];
}

export interface TrainOptions {
  /** Attributes to compare; default: every attribute some record has. */
  readonly attributes?: readonly ComparedAttribute[];
  /** Blocking rules (OR of ANDed keys); default: `defaultBlockingRules` for the attributes. */
  readonly blocking?: readonly BlockingRule[];
  /** How `a/b/yyyy` dates are read; default month first. */
  readonly dateOrder?: DateOrder;
  /** Match probability for clustering; default 0.5 (the odds favour a match). */
  readonly threshold?: number;
  /** Train from known matches instead of EM (u still comes from random pairs). */
  readonly labels?: Labels;
  /** Random pairs drawn to estimate u; default 200,000. */
  readonly randomPairs?: number;
  /** Seed of the random-pair sampler; the same seed gives the same model. */
  readonly seed?: number;
  /** Share of all matches the deterministic rules are assumed to find (λ's starting value); default 0.8. */
  readonly deterministicRecall?: number;
  /** Blocks with more records are skipped; default 500. */
  readonly maxBlockSize?: number;
  /**
   * Pair budget of each blocking rule, per record (at least 250,000 pairs); default 1. Default
   * rules over it are tightened, then any rule's largest blocks are skipped.
   */
  readonly maxPairsPerRecord?: number;
  /** When the model was trained (for reproducible documents in tests); default now. */
  readonly now?: Date;
}

/** Defaults in one place, so a CLI and the identity graph train alike. */
export const TRAIN_DEFAULTS = {
  dateOrder: 'mdy' as DateOrder,
  threshold: 0.5,
  randomPairs: 200_000,
  seed: 1,
  deterministicRecall: 0.8,
  maxBlockSize: 500,
  maxPairsPerRecord: 1,
};

/** Record indexes of the first file and of the second (a dedupe compares the one file with itself). */
function sides(session: MatchSession): { a: number[]; b: number[] } {
  const a: number[] = [];
  const b: number[] = [];
  session.records.forEach((r, i) => (r.source === 0 ? a : b).push(i));
  return session.link ? { a, b } : { a, b: a };
}

function totalPairs(session: MatchSession): number {
  const { a, b } = sides(session);
  return session.link ? a.length * b.length : (a.length * (a.length - 1)) / 2;
}


/**
 * Term frequencies per comparison and the u of the exact level, which they give exactly: the
 * chance that two random records agree is Σ over values of the product of their frequencies.
 * Values are counted by feature number in the session's feature table (records of a session
 * share numbered features), in typed arrays rather than maps: a million records are eight
 * million counts.
 */
function termFrequencies(session: MatchSession): { tables: TermFrequencies[]; exactU: number[] } {
  const { ids, width, byId } = session.table;
  const n = session.records.length;
  const second = uint8s(n);
  if (session.link) for (let i = 0; i < n; i++) second[i] = session.records[i]!.source;
  const countA = int32s(byId.length);
  const countB = int32s(byId.length);
  const touched = int32s(n);
  const tables: TermFrequencies[] = [];
  const exactU: number[] = [];
  for (let c = 0; c < width; c++) {
    let na = 0;
    let nb = 0;
    let distinct = 0;
    for (let i = 0; i < n; i++) {
      const k = ids[i * width + c]!;
      if (k < 0) continue;
      if (countA[k] === 0 && countB[k] === 0) touched[distinct++] = k;
      if (second[i] === 1) {
        nb++;
        countB[k]!++;
      } else {
        na++;
        countA[k]!++;
      }
    }
    let agree = 0;
    // Only values seen at least twice are kept (emails and phones of a million records are a
    // million values seen once).
    const frequent: [string, number][] = [];
    for (let t = 0; t < distinct; t++) {
      const k = touched[t]!;
      const x = countA[k]!;
      const y = countB[k]!;
      agree += session.link ? x * y : x * (x - 1);
      if (x + y >= 2) frequent.push([byId[k]!.v, x + y]);
      countA[k] = 0;
      countB[k] = 0;
    }
    const pairs = session.link ? na * nb : na * (na - 1);
    const total = Math.max(na + nb, 1);
    frequent.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    const kept = frequent.slice(0, TF_MAX_VALUES);
    const otherCount = frequent.length > TF_MAX_VALUES ? kept[kept.length - 1]![1] : 1;
    tables.push({ total, otherCount, counts: Object.fromEntries(kept) });
    // The same value shared by no pair still has a u: half a pair's worth, rather than zero.
    exactU.push(pairs > 0 ? Math.max(agree, 0.5) / pairs : 0.5);
  }
  return { tables, exactU };
}

/**
 * u of every level: the exact level from term frequencies, the others from random pairs (nearly
 * all random pairs are non-matches). Levels never seen get half an observation, so no level has
 * u = 0.
 */
function estimateU(session: MatchSession, exactU: readonly number[], randomPairs: number, seed: number): { u: number[][]; sampled: number } {
  const { a, b } = sides(session);
  const width = session.attributes.length;
  const counts = session.kinds.map((k) => new Array<number>(LEVELS[k].length).fill(0));
  const possible = totalPairs(session);
  const rand = createRandom(seed).next;
  const row = new Uint8Array(width);
  let sampled = 0;
  const take = (i: number, j: number): void => {
    session.compare(i, j, row, 0);
    for (let c = 0; c < width; c++) if (row[c] !== NULL_LEVEL) counts[c]![row[c]!]!++;
    sampled++;
  };
  if (possible <= randomPairs) {
    // Small inputs: every pair.
    for (let x = 0; x < a.length; x++) for (let y = session.link ? 0 : x + 1; y < b.length; y++) take(a[x]!, b[y]!);
  } else {
    while (sampled < randomPairs) {
      const i = a[Math.floor(rand() * a.length)]!;
      const j = b[Math.floor(rand() * b.length)]!;
      if (i !== j) take(i, j);
    }
  }
  const u = counts.map((row, c) => {
    const rest = row.slice(1);
    const seen = rest.reduce((s, x) => s + x, 0) + 0.5 * rest.length;
    const u0 = Math.min(exactU[c]!, 0.999);
    return [u0, ...rest.map((x) => ((1 - u0) * (x + 0.5)) / seen)];
  });
  return { u, sampled };
}

/**
 * Each candidate pair's term-frequency factor (natural log) for EM: for every comparison the pair
 * agrees on exactly, log(u / tf(value)), the amount by which scoring will move the exact level's
 * weight for that value. Over random pairs agreeing on a value the factor averages 1, so it only
 * tells pairs apart: two records sharing a generic email (info@…) or a surname half the file has
 * are far weaker evidence than two sharing a rare one. Without it EM takes whole households, or
 * everyone called Müller, for one person (the pairs agree on much, and levels alone cannot say
 * how common the agreed value is), and the m of disagreeing on a first name or a birth date
 * comes out several times too high.
 */
function termFrequencyFactors(session: MatchSession, tables: readonly TermFrequencies[], u: readonly (readonly number[])[]): Float64Array {
  const width = session.attributes.length;
  const { ids, byId } = session.table;
  const byFeature = float64s(byId.length);
  const done = uint8s(byId.length);
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    if (id < 0 || done[id] === 1) continue;
    done[id] = 1;
    const c = k % width;
    const tf = tables[c]!;
    const v = byId[id]!.v;
    const frequency = (Object.hasOwn(tf.counts, v) ? tf.counts[v]! : tf.otherCount) / tf.total;
    byFeature[id] = Math.log(u[c]![0]! / frequency);
  }
  const { count, left } = session.candidates;
  const levels = session.levels;
  const factors = float64s(count);
  for (let p = 0; p < count; p++) {
    const base = p * width;
    const a = left[p]! * width;
    let f = 0;
    for (let c = 0; c < width; c++) if (levels[base + c] === 0) f += byFeature[ids[a + c]!]!;
    factors[p] = f;
  }
  return factors;
}

/**
 * What m looks like in ordinary person data, per comparison kind (levels as in LEVELS): most
 * records of one person agree exactly, some carry a typo or a variant, few disagree outright.
 * EM starts here, and every session's estimate is pulled towards it by `PRIOR_STRENGTH`
 * pseudo-matches: enough to keep a file of a hundred records from absurd weights (EM over a
 * dozen matches can decide that agreeing on a first name is evidence against a match), too
 * little to matter when thousands of matches speak.
 */
const PRIOR_M: Readonly<Record<ComparisonKind, readonly number[]>> = {
  name: [0.75, 0.01, 0.08, 0.06, 0.03, 0.02, 0.05],
  date: [0.8, 0.08, 0.04, 0.02, 0.02, 0.02, 0.02],
  houseNumber: [0.85, 0.05, 0.1],
  postcode: [0.8, 0.05, 0.05, 0.1],
  street: [0.75, 0.1, 0.05, 0.1],
  address: [0.6, 0.15, 0.1, 0.15],
  city: [0.8, 0.08, 0.12],
  category: [0.9, 0.1],
  email: [0.75, 0.03, 0.05, 0.17],
  phone: [0.7, 0.1, 0.03, 0.17],
  identifier: [0.9, 0.05, 0.05],
  text: [0.7, 0.1, 0.2],
};

/** Pseudo-matches of prior per EM session (see PRIOR_M). */
const PRIOR_STRENGTH = 10;

function initialM(kind: ComparisonKind): number[] {
  return [...PRIOR_M[kind]];
}

/**
 * λ from deterministic rules: pairs agreeing exactly on a strong combination (full name and
 * birthday, email, phone, national id) are taken as matches, assumed to be `recall` of all of them.
 */
function deterministicLambda(session: MatchSession, recall: number): { lambda: number; pairs: number } {
  const has = (a: ComparedAttribute): boolean => session.attributes.includes(a);
  const rules: BlockingRule[] = [];
  const exact = (...attributes: ComparedAttribute[]): void => {
    if (attributes.every(has)) rules.push({ parts: attributes.map((attribute) => ({ attribute, transform: 'exact' as const })) });
  };
  if (has('birthday')) exact('firstName', 'lastName', 'birthday');
  else if (has('postalCode')) exact('firstName', 'lastName', 'postalCode');
  else if (has('address')) exact('firstName', 'lastName', 'address');
  else if (has('city')) exact('firstName', 'lastName', 'city');
  else exact('firstName', 'lastName');
  exact('email');
  exact('phone');
  exact('nationalId');
  for (const a of session.attributes) if (a.startsWith('id:')) exact(a);
  if (rules.length === 0) exact(...session.attributes);
  const found = findCandidates(session.records, session.attributes, rules, { link: session.link, maxBlockSize: Number.POSITIVE_INFINITY, keyParts: session.keyParts });
  const possible = Math.max(totalPairs(session), 1);
  const lambda = Math.max(found.count, 1) / recall / possible;
  return { lambda: Math.min(Math.max(lambda, 1e-12), 0.5), pairs: found.count };
}

/** The level of the name comparison that means "first and last names swapped". */
const SWAPPED_LEVEL = 1;

/** Random pairs drawn to estimate u given agreement on a key part (see `conditionalU`). */
const CONDITIONAL_SAMPLES = 20_000;

/**
 * u of comparison `c` among pairs that agree on a blocking key part, such as lastName levels among
 * pairs whose surnames sound alike: estimated from random pairs of records sharing the part's
 * value. Non-matching candidates of a rule on `lastName.phonetic` agree on lastName far more
 * often than random pairs do, so EM over them needs this u, not the unconditional one.
 */
function conditionalU(session: MatchSession, c: number, part: BlockingKeyPart, fallback: readonly number[], seed: number): number[] {
  const blocks = session.keyParts.blocks({ parts: [part] });
  const groups: { a: number[]; b: number[] }[] = Array.from({ length: blocks.count }, () => ({ a: [], b: [] }));
  for (let i = 0; i < blocks.ids.length; i++) {
    const k = blocks.ids[i]!;
    if (k < 0) continue;
    const g = groups[k]!;
    (session.link && session.records[i]!.source === 1 ? g.b : g.a).push(i);
  }
  const list = groups.filter((g) => (session.link ? g.a.length * g.b.length : g.a.length * (g.a.length - 1)) > 0);
  const cumulative = new Float64Array(list.length);
  let total = 0;
  list.forEach((g, k) => {
    total += session.link ? g.a.length * g.b.length : (g.a.length * (g.a.length - 1)) / 2;
    cumulative[k] = total;
  });
  if (total === 0) return [...fallback];
  const rand = createRandom(seed).next;
  const kind = session.kinds[c]!;
  const counts = new Array<number>(LEVELS[kind].length).fill(0);
  for (let s = 0; s < CONDITIONAL_SAMPLES; s++) {
    const x = rand() * total;
    let lo = 0;
    let hi = list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    const g = list[lo]!;
    const i = g.a[Math.floor(rand() * g.a.length)]!;
    let j: number;
    if (session.link) j = g.b[Math.floor(rand() * g.b.length)]!;
    else {
      j = g.a[Math.floor(rand() * (g.a.length - 1))]!;
      if (j === i) j = g.a[g.a.length - 1]!;
    }
    counts[compareAttribute(session, c, session.records[i]!.features, session.records[j]!.features)]!++;
  }
  const seen = counts.reduce((a, b) => a + b, 0) + 0.5 * counts.length;
  return counts.map((n) => (n + 0.5) / seen);
}

/**
 * Whether every key part of a rule is something a household shares (an address, a phone, an
 * email, a surname). Such a rule proposes whole families and everyone behind a shared mailbox,
 * and EM over its pairs can take "lives together" for "is the same person": its m says that
 * different first names and birth dates are common among matches. Its estimates are used only
 * for attributes that no other rule's session estimates.
 */
function sharedByHouseholds(rule: BlockingRule): boolean {
  return rule.parts.every((p) => HOUSEHOLD_ATTRIBUTES.has(p.attribute));
}

/**
 * m by EM, one session per blocking rule (as Splink does). A rule's pairs agree on its key parts
 * by construction: an attribute it takes exactly is left out of the session; one it takes through
 * a looser key (phonetic code, year, initial) stays in with its u measured among pairs sharing
 * that key, so the session keeps enough comparisons to tell matches apart. Each m combines the
 * sessions whose rule does not use that attribute (see `combineSessions`).
 */
function emSessions(session: MatchSession, u: readonly (readonly number[])[], seed: number, index: PatternIndex, masks: Uint32Array): { m: number[][]; sessions: TrainingSummary['emSessions'] } {
  const width = session.attributes.length;
  const summary: { rule: string; pairs: number; iterations: number; converged: boolean }[] = [];
  const conditional = new Map<string, number[]>();
  const estimates = session.kinds.map((): number[][] => []);
  const weights = session.kinds.map((): number[] => []);
  // Estimates from rules that households share, kept apart: used only where no other rule speaks.
  const sharedEstimates = session.kinds.map((): number[][] => []);
  const sharedWeights = session.kinds.map((): number[] => []);
  const byRule = countPatternsByMask(index, masks, Math.min(session.rules.length, 32));
  session.rules.forEach((rule, r) => {
    if (r >= 32) return;
    const fixed = new Set<number>();
    const used = new Set<number>();
    const sessionU = u.map((row) => [...row]);
    for (const part of rule.parts) {
      const c = session.attributes.indexOf(part.attribute);
      used.add(c);
      if (part.transform === 'exact') {
        fixed.add(c);
        continue;
      }
      const key = `${part.attribute}.${part.transform}`;
      let cu = conditional.get(key);
      if (cu === undefined) {
        cu = conditionalU(session, c, part, u[c]!, seed + conditional.size + 1);
        conditional.set(key, cu);
      }
      sessionU[c] = cu;
    }
    const patterns = byRule[r]!;
    const pairs = patterns.reduce((s, p) => s + p.count, 0);
    if (pairs === 0) return;
    const result = expectationMaximisation({
      patterns,
      levelCounts: session.kinds.map((k) => LEVELS[k].length),
      fixed,
      u: sessionU,
      m: session.kinds.map(initialM),
      prior: session.kinds.map(initialM),
      priorStrength: PRIOR_STRENGTH,
      lambda: 0.1,
      missing: NULL_LEVEL,
    });
    summary.push({ rule: describeRule(rule), pairs, iterations: result.iterations, converged: result.converged });
    for (let c = 0; c < width; c++) {
      if (used.has(c)) continue;
      // A session without any pair where this attribute is present says nothing about it.
      if (!patterns.some((p) => p.levels[c] !== NULL_LEVEL)) continue;
      // A rule on the other name (lastName for firstName) only proposes pairs whose other names
      // agree, so it cannot see first and last names swapped: that level is unobserved there.
      const partner = session.partners[c]!;
      const blind = partner >= 0 && used.has(partner) ? SWAPPED_LEVEL : -1;
      const shared = sharedByHouseholds(rule);
      (shared ? sharedEstimates : estimates)[c]!.push(blind < 0 ? result.m[c]! : result.m[c]!.map((x, l) => (l === blind ? Number.NaN : x)));
      (shared ? sharedWeights : weights)[c]!.push(result.expectedMatches);
    }
  });
  const m = session.kinds.map((kind, c) => (estimates[c]!.length > 0 ? combineSessions(estimates[c]!, weights[c]!) : combineSessions(sharedEstimates[c]!, sharedWeights[c]!)) ?? initialM(kind));
  return { m, sessions: summary };
}

/** How far (in total over the levels) a session's m may be from the others' median at least. */
const OUTLIER_DISTANCE = 0.4;

/**
 * One comparison's m from several EM sessions: the mean weighted by each session's expected
 * matches, leaving out sessions far from the others. A session can converge on the wrong latent
 * class (pairs sharing a common name and city, or a shared family email, taken for "the same
 * person") and its m is then far off (0.8 and more in total variation); a plain mean is pulled by
 * it. With three or more sessions, a session whose m is further from the per-level median than
 * three times the typical session and than `OUTLIER_DISTANCE` is left out. A per-level median
 * alone would not do: it pulls the m of a rare level (swapped names) down to the sessions that
 * saw it least.
 */
function combineSessions(rows: readonly (readonly number[])[], weights: readonly number[]): number[] | undefined {
  if (rows.length === 0) return undefined;
  const levels = rows[0]!.length;
  // Levels a session could not observe (NaN) are estimated from the sessions that could; the
  // others are combined as shares of what is left.
  const hidden = new Set<number>();
  for (const r of rows) r.forEach((x, l) => Number.isNaN(x) && hidden.add(l));
  const conditional = rows.map((r) => {
    const seen = r.reduce((t, x, l) => (hidden.has(l) ? t : t + x), 0);
    return r.map((x, l) => (hidden.has(l) ? Number.NaN : seen > 0 ? x / seen : 0));
  });
  let keep = rows.map((_, k) => k);
  if (rows.length >= 3) {
    const median: number[] = [];
    for (let l = 0; l < levels; l++) {
      const xs = conditional.map((r) => r[l]!).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
      const mid = xs.length >> 1;
      median.push(xs.length === 0 ? 0 : xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2);
    }
    const distance = conditional.map((r) => r.reduce((d, x, l) => (Number.isNaN(x) ? d : d + Math.abs(x - median[l]!)), 0));
    const typical = [...distance].sort((a, b) => a - b)[distance.length >> 1]!;
    keep = keep.filter((k) => distance[k]! <= Math.max(3 * typical, OUTLIER_DISTANCE));
  }
  const mean = (source: readonly (readonly number[])[], l: number, among: readonly number[]): number | undefined => {
    let sum = 0;
    let total = 0;
    for (const k of among) {
      const x = source[k]![l]!;
      if (Number.isNaN(x)) continue;
      sum += weights[k]! * x;
      total += weights[k]!;
    }
    return total > 0 ? sum / total : undefined;
  };
  const out = new Array<number>(levels).fill(0);
  let hiddenMass = 0;
  for (const l of hidden) {
    const observers = keep.filter((k) => !Number.isNaN(rows[k]![l]!));
    out[l] = mean(rows, l, observers.length > 0 ? observers : rows.map((_, k) => k)) ?? 0;
    hiddenMass += out[l]!;
  }
  let total = 0;
  for (let l = 0; l < levels; l++) {
    if (hidden.has(l)) continue;
    out[l] = (mean(conditional, l, keep) ?? 0) * (1 - hiddenMass);
    total += out[l]!;
  }
  return total + hiddenMass > 0 ? out : undefined;
}

/**
 * λ by EM over every candidate pair with m and u fixed: the expected number of matches among the
 * candidates divided by all possible pairs (pairs blocking did not propose count as non-matches).
 * Started from the deterministic rules' estimate, which undercounts when duplicates rarely agree
 * exactly (RLdata: every duplicate carries an error, so exact name and birthday find 1%).
 *
 * m is not re-estimated here. An EM over all candidates with m free, run to convergence, used to
 * follow; on large inputs its "match" class drifted to pairs that share a common name and a city
 * (candidates are chosen for agreeing on such keys, so against the population's u they look like
 * matches), and precision collapsed (0.10 on 100,000 generated records). Now a few such steps
 * follow, from the sessions' m and with term frequencies in the E-step (see `candidateEm`).
 */
function lambdaByEm(session: MatchSession, u: readonly (readonly number[])[], m: readonly (readonly number[])[], start: number, index: PatternIndex): { lambda: number; iterations: number; converged: boolean } {
  const width = session.attributes.length;
  const patterns = countPatterns(index);
  const ratio = patterns.map((p) => {
    let w = p.logFactor ?? 0;
    for (let c = 0; c < width; c++) {
      const l = p.levels[c]!;
      if (l !== NULL_LEVEL) w += Math.log(m[c]![l]! / u[c]![l]!);
    }
    return Math.exp(Math.min(Math.max(w, -500), 500));
  });
  const population = Math.max(totalPairs(session), 1);
  let lambda = start;
  for (let i = 1; i <= 500; i++) {
    const odds = lambda / (1 - lambda);
    let sum = 0;
    patterns.forEach((p, k) => {
      const r = odds * ratio[k]!;
      sum += (p.count * r) / (1 + r);
    });
    const next = Math.min(Math.max(sum / population, 1e-12), 0.5);
    const moved = Math.abs(next - lambda) / lambda;
    lambda = next;
    if (moved < 1e-6) return { lambda, iterations: i, converged: true };
  }
  return { lambda, iterations: 500, converged: false };
}

/**
 * Steps of the EM over all candidate pairs (see `candidateEm`). The first steps remove the
 * sessions' selection; run on, the rarest levels drift: a handful of pairs with first and last
 * names swapped, or with two different birth dates, are taken for matches, and their m grows with
 * each step (RLdata10000 F1: sessions alone 0.980, after 1 step 0.981, 3 steps 0.982, 5 steps
 * 0.981, 10 steps 0.973). Three steps, then: an early stop.
 */
const CANDIDATE_EM_STEPS = 3;

/**
 * m and λ by a few steps of EM over every candidate pair, u fixed, started from the per-rule
 * sessions' m and the λ over all candidates. The sessions each see pairs that agree on their
 * rule's keys, so each m they give is the m among such pairs: where a duplicate carries one
 * error, the pairs that agree on the birth date carry it in the name, and the sessions blocked on
 * dates overstate name typos (RLdata10000: 0.51 against 0.34 among all true pairs; 0.34 after
 * these steps). Term frequencies are in the E-step, so pairs sharing a common name count less.
 */
function candidateEm(
  session: MatchSession,
  u: readonly (readonly number[])[],
  m: readonly (readonly number[])[],
  lambda: number,
  index: PatternIndex,
  masks: Uint32Array,
): { m: number[][]; pairs: number; iterations: number; converged: boolean } {
  // Pairs that only rules households share propose are left out, as from the sessions (see
  // `sharedByHouseholds`): over them EM would learn what a household looks like.
  let personal = 0;
  session.rules.forEach((rule, r) => {
    if (r < 32 && !sharedByHouseholds(rule)) personal |= 1 << r;
  });
  const patterns = personal === 0 ? countPatterns(index) : countPatterns(index, (p) => (masks[p]! & personal) !== 0);
  const result = expectationMaximisation({
    patterns,
    levelCounts: session.kinds.map((k) => LEVELS[k].length),
    fixed: new Set(),
    u,
    m,
    lambda,
    population: Math.max(totalPairs(session), 1),
    prior: session.kinds.map(initialM),
    priorStrength: PRIOR_STRENGTH,
    maxIterations: CANDIDATE_EM_STEPS,
    tolerance: 1e-4,
    missing: NULL_LEVEL,
  });
  // Stopping after the planned steps is the design, not a failure to converge.
  const pairs = patterns.reduce((t, p) => t + p.count, 0);
  return { m: result.m, pairs, iterations: result.iterations, converged: result.converged || result.iterations === CANDIDATE_EM_STEPS };
}

/** m from labelled matches: the share of each level among known matching pairs (smoothed). */
function supervisedM(session: MatchSession, labels: Labels): { m: number[][]; matches: number } {
  const index = new Map<string, number[]>();
  session.records.forEach((r, i) => {
    const list = index.get(r.id);
    if (list === undefined) index.set(r.id, [i]);
    else list.push(i);
  });
  const pairs: [number, number][] = [];
  const addPair = (x: string, y: string): void => {
    for (const i of index.get(x) ?? []) {
      for (const j of index.get(y) ?? []) {
        if (i === j || (session.link && session.records[i]!.source === session.records[j]!.source)) continue;
        pairs.push([i, j]);
      }
    }
  };
  for (const p of labels.pairs ?? []) if (p.match) addPair(p.a, p.b);
  if (labels.clusters !== undefined) {
    const byCluster = new Map<string, string[]>();
    for (const [id, cluster] of labels.clusters) {
      const list = byCluster.get(cluster);
      if (list === undefined) byCluster.set(cluster, [id]);
      else list.push(id);
    }
    for (const ids of byCluster.values()) for (let x = 0; x < ids.length; x++) for (let y = x + 1; y < ids.length && pairs.length < 5_000_000; y++) addPair(ids[x]!, ids[y]!);
  }
  const width = session.attributes.length;
  const counts = session.kinds.map((k) => new Array<number>(LEVELS[k].length).fill(0));
  const row = new Uint8Array(width);
  for (const [i, j] of pairs) {
    compareRecords(session, session.records[i]!, session.records[j]!, row, 0);
    for (let c = 0; c < width; c++) if (row[c] !== NULL_LEVEL) counts[c]![row[c]!]!++;
  }
  const m = counts.map((row, c) => {
    const total = row.reduce((s, x) => s + x, 0);
    if (total === 0) return initialM(session.kinds[c]!);
    return row.map((x) => (x + 0.1) / (total + 0.1 * row.length));
  });
  return { m, matches: pairs.length };
}

/** Builds a model from an open session: λ, u and m as the options ask. */
export function trainSession(session: MatchSession, options: TrainOptions = {}): Model {
  const randomPairs = options.randomPairs ?? TRAIN_DEFAULTS.randomPairs;
  const seed = options.seed ?? TRAIN_DEFAULTS.seed;
  const recall = options.deterministicRecall ?? TRAIN_DEFAULTS.deterministicRecall;
  const { tables, exactU } = termFrequencies(session);
  const { u, sampled } = estimateU(session, exactU, randomPairs, seed);
  let lambda: number;
  let deterministicPairs = 0;
  let m: number[][];
  let sessions: TrainingSummary['emSessions'] = [];
  const supervised = options.labels !== undefined;
  if (options.labels !== undefined) {
    const s = supervisedM(session, options.labels);
    m = s.m;
    if (options.labels.clusters !== undefined && s.matches > 0) {
      lambda = Math.min(Math.max(s.matches / Math.max(totalPairs(session), 1), 1e-12), 0.5);
    } else {
      const d = deterministicLambda(session, recall);
      lambda = d.lambda;
      deterministicPairs = d.pairs;
    }
  } else {
    const d = deterministicLambda(session, recall);
    lambda = d.lambda;
    deterministicPairs = d.pairs;
    const factors = termFrequencyFactors(session, tables, u);
    const index = indexPatterns(session.levels, session.attributes.length, session.candidates.count, session.kinds.map((k) => LEVELS[k].length), NULL_LEVEL, factors);
    const masks = ruleMasks(session.records, session.attributes, session.rules, session.candidates);
    const em = emSessions(session, u, seed, index, masks);
    sessions = em.sessions;
    m = em.m;
    // The pairs agreeing exactly on a deterministic rule are matches: λ is at least their share
    // (one pair's, when there are none). EM over a handful of records can otherwise drive λ to
    // nothing and link nobody.
    const floor = Math.max(deterministicPairs, 1) / Math.max(totalPairs(session), 1);
    const start = lambdaByEm(session, u, m, lambda, index);
    const final = candidateEm(session, u, m, Math.min(Math.max(start.lambda, floor), 0.5), index, masks);
    m = final.m;
    const refined = lambdaByEm(session, u, m, lambda, index);
    lambda = Math.min(Math.max(refined.lambda, floor), 0.5);
    sessions = [
      ...sessions,
      { rule: `m over candidate pairs of rules households do not share (${CANDIDATE_EM_STEPS} steps)`, pairs: final.pairs, iterations: final.iterations, converged: final.converged },
      { rule: 'λ over all candidate pairs', pairs: session.candidates.count, iterations: refined.iterations, converged: refined.converged },
    ];
  }
  const clamp = (x: number): number => Math.min(Math.max(x, 1e-9), 1 - 1e-9);
  const comparisons: ComparisonModel[] = session.attributes.map((attribute, c) => ({
    attribute,
    kind: session.kinds[c]!,
    levels: LEVELS[session.kinds[c]!].map((label, l) => ({ label, m: clamp(m[c]![l]!), u: clamp(u[c]![l]!) })),
    termFrequencies: tables[c]!,
  }));
  const base = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    mode: session.link ? ('link' as const) : ('dedupe' as const),
    lambda,
    threshold: options.threshold ?? TRAIN_DEFAULTS.threshold,
    dateOrder: options.dateOrder ?? TRAIN_DEFAULTS.dateOrder,
    comparisons,
    blocking: session.rules,
    ...(detectHouseholds(session, m) ? { households: true } : {}),
  };
  const training: TrainingSummary = {
    records: session.records.length,
    supervised,
    deterministicPairs,
    deterministicRecall: recall,
    randomPairs: sampled,
    emSessions: sessions,
  };
  const draft: Model = { ...base, version: modelVersion(base), trainedAt: (options.now ?? new Date()).toISOString(), training };
  if (!supervised || options.labels?.clusters !== undefined) return draft;
  const refined = { ...base, lambda: refineLambda(session, draft) };
  return { ...refined, version: modelVersion(refined), trainedAt: draft.trainedAt, training };
}

/**
 * Refines λ from the candidate pairs with m and u fixed: the expected number of matches among the
 * candidates (EM over λ alone) divided by all possible pairs, taking blocking to find nearly every
 * match. Deterministic rules alone undercount when duplicates rarely agree exactly on the rule's
 * attributes (RLdata: every duplicate carries an error, so exact name and birthday find 1%);
 * the deterministic estimate is the starting point and a floor.
 */
function refineLambda(session: MatchSession, draft: Model): number {
  const compiled = compileModel(draft);
  const width = session.attributes.length;
  const count = session.candidates.count;
  if (count === 0) return draft.lambda;
  const ratio = float64s(count);
  for (let p = 0; p < count; p++) {
    const w = pairWeight(compiled, session.records[session.candidates.left[p]!]!, session.records[session.candidates.right[p]!]!, session.levels, p * width) - compiled.prior;
    ratio[p] = Math.pow(2, Math.min(Math.max(w, -60), 60));
  }
  let share = Math.min(Math.max((draft.lambda * totalPairs(session)) / count, 1e-6), 0.5);
  for (let i = 0; i < 200; i++) {
    let sum = 0;
    for (let p = 0; p < count; p++) sum += (share * ratio[p]!) / (share * ratio[p]! + 1 - share);
    const next = Math.min(Math.max(sum / count, 1e-9), 1 - 1e-9);
    if (Math.abs(next - share) < 1e-9) {
      share = next;
      break;
    }
    share = next;
  }
  const lambda = (share * count) / Math.max(totalPairs(session), 1);
  return Math.min(Math.max(lambda, draft.lambda, 1e-12), 0.5);
}

/** Opens a matching session for training with the options' attributes, rules and block size. */
export function openTrainingSession(source: MatchSource, options: TrainOptions = {}): MatchSession {
  return openSession(source, {
    ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
    dateOrder: options.dateOrder ?? TRAIN_DEFAULTS.dateOrder,
    rules: (attributes) => options.blocking ?? defaultBlockingRules(attributes),
    maxBlockSize: options.maxBlockSize ?? TRAIN_DEFAULTS.maxBlockSize,
    maxPairsPerRecord: options.maxPairsPerRecord ?? TRAIN_DEFAULTS.maxPairsPerRecord,
    fitRules: options.blocking === undefined,
  });
}

/**
 * Trains a model on records: a list to deduplicate, or `{left, right}` to link. Unsupervised by
 * default: u from random pairs (the exact level from term frequencies), m by EM, one session per
 * blocking rule pulled towards a prior, the sessions combined leaving out outliers; λ from
 * deterministic rules, refined by EM over all candidate pairs with unproposed pairs as
 * non-matches; then a few EM steps over all candidate pairs refine m and λ together. With `labels`, m (and λ, given clusters) come from the known matches. Default
 * blocking rules are tightened to a pair budget on large inputs.
 */
export function train(source: MatchSource, options: TrainOptions = {}): Model {
  return inArena(() => trainSession(openTrainingSession(source, options), options));
}
