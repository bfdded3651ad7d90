/**
 * Ambiguous links in clustering. A record that resembles two groups which cannot be one person
 * (some record of one and some of the other are strangers: a father and a son, two documents)
 * belongs to at most one of them, and the odds of each of its links are shared with the other:
 * "Robert Smith" with only an email links equally to Robert Smith Sr and to his son, and joining
 * either (whichever link comes first) is a guess. The join of two groups then needs
 *
 *   log2(odds of its link / (1 + the odds of each exclusive alternative)) ≥ the link threshold,
 *
 * where an alternative is another group that either side links to (above the threshold), that
 * side could join, and the other side could not. A record equally like two such groups joins
 * neither; one much more like one of them joins it. Data without strangers is unaffected.
 */

export interface ExclusiveLinksContext {
  readonly count: number;
  readonly pairs: { readonly left: Int32Array; readonly right: Int32Array; readonly weight: Float64Array };
  /** The pairs at or above the threshold. */
  readonly order: readonly number[];
  readonly minWeight: number;
  /** The group (root) of a record, as clustering stands. */
  readonly find: (record: number) => number;
  /** The records of a group. */
  readonly membersOf: (root: number) => readonly number[];
  /** Whether some record of one list and some of the other are strangers. */
  readonly strangers: (x: readonly number[], y: readonly number[]) => boolean;
}

/**
 * Returns the test for a join: whether the link `p` between the groups `ra` (records `ma`) and
 * `rb` (records `mb`) is too ambiguous to join them (see above).
 */
export function exclusiveLinks(context: ExclusiveLinksContext): (p: number, ra: number, rb: number, ma: readonly number[], mb: readonly number[]) => boolean {
  const { pairs, find, membersOf, strangers } = context;
  // The pairs at or above the threshold of each record: linked[start[r]] … linked[start[r + 1] - 1].
  const start = new Int32Array(context.count + 1);
  for (const p of context.order) {
    start[pairs.left[p]! + 1]!++;
    start[pairs.right[p]! + 1]!++;
  }
  for (let r = 0; r < context.count; r++) start[r + 1]! += start[r]!;
  const next = start.slice(0, context.count);
  const linked = new Int32Array(context.order.length * 2);
  for (const p of context.order) {
    linked[next[pairs.left[p]!]!++] = p;
    linked[next[pairs.right[p]!]!++] = p;
  }
  const best = new Map<number, number>();
  return (p, ra, rb, ma, mb) => {
    let odds = 0;
    for (const [side, other] of [[ma, mb], [mb, ma]] as const) {
      best.clear();
      for (const x of side) {
        for (let k = start[x]!; k < start[x + 1]!; k++) {
          const q = linked[k]!;
          const g = find(pairs.left[q] === x ? pairs.right[q]! : pairs.left[q]!);
          if (g === ra || g === rb) continue;
          const w = pairs.weight[q]!;
          if (w > (best.get(g) ?? Number.NEGATIVE_INFINITY)) best.set(g, w);
        }
      }
      for (const [g, w] of best) {
        const mg = membersOf(g);
        if (strangers(mg, other) && !strangers(mg, side)) odds += 2 ** w;
      }
    }
    return odds > 0 && pairs.weight[p]! - Math.log2(1 + odds) < context.minWeight;
  };
}
