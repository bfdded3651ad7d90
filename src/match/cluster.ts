import { exclusiveLinks } from './exclusive-links.ts';
import { int32s } from './typed-arena.ts';

/**
 * Clustering of scored pairs into entities: pairs at or above the threshold are linked, strongest
 * first (union–find). A link that would join two groups is refused when some record of one group
 * is clearly a different person from some record of the other (their pair scores below
 * `strangerWeight`): this stops chains A–B–C from putting A and C together when A and C disagree.
 * In data with households, a join that would put two family members together (their pair
 * weighing below 0) is also refused unless the links between the two groups outweigh that
 * pair: a record that fits two members of one family, such as an initial that fits Jim and
 * Jane or a record with only the family's address, joins the one whose own link holds, not both.
 * And a record that links to two groups which cannot be joined shares its odds between them
 * (exclusive-links.ts): equally like both, it joins neither.
 */

/**
 * What two records are to each other in data that holds households (see pair-relation.ts):
 * `family` when they are two members of one family at one home (twins, a parent and a child);
 * `household` when they compare on nothing but what a household shares (a record without a name
 * at a family's address), which fits every member alike; else `other`.
 */
export type PairRelation = 'family' | 'household' | 'other';

export interface ClusterOptions {
  /** Pairs with a weight at or above this are linked. */
  readonly minWeight: number;
  /** Two groups are not joined when any cross pair scores below this. */
  readonly strangerWeight: number;
  /** The weight of any pair of records (used only for records of groups about to be joined). */
  readonly pairWeight: (a: number, b: number) => number;
  /**
   * What two records are to each other beyond their weight (see `PairRelation`), read for
   * records of groups about to be joined. Without it, only the stranger guard applies.
   */
  readonly relation?: (a: number, b: number) => PairRelation;
  /**
   * Whether a link into one of two groups that cannot be joined shares its odds with the link
   * into the other (see exclusive-links.ts; default true).
   */
  readonly exclusiveLinks?: boolean;
  /** Cross checks above this many pairs are skipped (the join is allowed). */
  readonly maxCrossChecks?: number;
}

export interface ClusterResult {
  /** Per record, the smallest record index of its cluster (so cluster labels follow input order). */
  readonly clusterOf: Int32Array;
  readonly linked: number;
  /** Joins refused because they would have chained strangers. */
  readonly refused: number;
}

/** Clusters `count` records from candidate pairs (parallel arrays) and their weights. */
export function clusterPairs(
  count: number,
  pairs: { readonly left: Int32Array; readonly right: Int32Array; readonly weight: Float64Array; readonly count: number },
  options: ClusterOptions,
): ClusterResult {
  const parent = int32s(count);
  for (let i = 0; i < count; i++) parent[i] = i;
  const members = new Map<number, number[]>();
  const find = (x: number): number => {
    let r = x;
    while (parent[r] !== r) r = parent[r]!;
    while (parent[x] !== r) {
      const next = parent[x]!;
      parent[x] = r;
      x = next;
    }
    return r;
  };
  const membersOf = (root: number): number[] => members.get(root) ?? [root];
  const order: number[] = [];
  for (let p = 0; p < pairs.count; p++) if (pairs.weight[p]! >= options.minWeight) order.push(p);
  // Strongest first; ties in input order, so the result does not depend on sort stability.
  order.sort((x, y) => pairs.weight[y]! - pairs.weight[x]! || x - y);
  const maxChecks = options.maxCrossChecks ?? 10_000;
  /** Whether some record of `x` and some of `y` are strangers (beyond the check limit: no). */
  const strangers = (x: readonly number[], y: readonly number[]): boolean => {
    if (x.length * y.length > maxChecks) return false;
    for (const a of x) for (const b of y) if (options.pairWeight(a, b) < options.strangerWeight) return true;
    return false;
  };
  const ambiguous = options.exclusiveLinks === false ? undefined : exclusiveLinks({ count, pairs, order, minWeight: options.minWeight, find, membersOf, strangers });
  let linked = 0;
  let refused = 0;
  for (const p of order) {
    const ra = find(pairs.left[p]!);
    const rb = find(pairs.right[p]!);
    if (ra === rb) continue;
    const ma = membersOf(ra);
    const mb = membersOf(rb);
    if (ma.length + mb.length > 2 && ma.length * mb.length <= maxChecks) {
      let stranger = false;
      // Family members that the join would put together, and the support for the join: the
      // positive weights between the groups, leaving out pairs that name only a household.
      let support = 0;
      const family: number[] = [];
      for (const a of ma) {
        for (const b of mb) {
          const w = options.pairWeight(a, b);
          if (w < options.strangerWeight) {
            stranger = true;
            break;
          }
          if (options.relation === undefined) continue;
          const relation = options.relation(a, b);
          if (w < 0 && relation === 'family') family.push(w);
          else if (w > 0 && relation !== 'household') support += w;
        }
        if (stranger) break;
      }
      if (!stranger && family.some((w) => w < -support)) stranger = true;
      if (stranger) {
        refused++;
        continue;
      }
    }
    if (ambiguous !== undefined && ambiguous(p, ra, rb, ma, mb)) {
      refused++;
      continue;
    }
    const [root, child] = ra < rb ? [ra, rb] : [rb, ra];
    parent[child] = root;
    members.set(root, [...ma, ...mb]);
    members.delete(child);
    linked++;
  }
  const clusterOf = new Int32Array(count);
  for (let i = 0; i < count; i++) clusterOf[i] = find(i);
  // Roots are the smallest index only along union order; normalise to the smallest member.
  const smallest = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const r = clusterOf[i]!;
    if (!smallest.has(r)) smallest.set(r, i);
  }
  for (let i = 0; i < count; i++) clusterOf[i] = smallest.get(clusterOf[i]!)!;
  return { clusterOf, linked, refused };
}

/**
 * One-to-one linking of two files: each record is linked to at most one record of the other
 * file. Pairs at or above `minWeight` are taken strongest first (ties in input order), and a
 * pair is skipped when either record is already linked: the greedy approximation of the
 * heaviest matching, right when each file holds each person once (a customer list against
 * another, FEBRL4). Clusters are the linked pairs; `clusterOf` is labelled as in `clusterPairs`.
 */
export function linkOneToOne(
  count: number,
  pairs: { readonly left: Int32Array; readonly right: Int32Array; readonly weight: Float64Array; readonly count: number },
  options: { readonly minWeight: number },
): ClusterResult {
  const order: number[] = [];
  for (let p = 0; p < pairs.count; p++) if (pairs.weight[p]! >= options.minWeight) order.push(p);
  order.sort((x, y) => pairs.weight[y]! - pairs.weight[x]! || x - y);
  const clusterOf = new Int32Array(count);
  for (let i = 0; i < count; i++) clusterOf[i] = i;
  const taken = new Uint8Array(count);
  let linked = 0;
  let refused = 0;
  for (const p of order) {
    const a = pairs.left[p]!;
    const b = pairs.right[p]!;
    if (taken[a] === 1 || taken[b] === 1) {
      refused++;
      continue;
    }
    taken[a] = 1;
    taken[b] = 1;
    const first = Math.min(a, b);
    clusterOf[a] = first;
    clusterOf[b] = first;
    linked++;
  }
  return { clusterOf, linked, refused };
}
