import type { EvidenceMessage, ReadPort, Workspace } from '../store/ports.ts';
import type { MatchPair } from '../store/match-ports.ts';
import type { JsonValue } from '../spec/segment-message.ts';
import type { IdentifierKey } from './identifier.ts';
import { replay, type LinkTrace } from './replay.ts';
import { loadClosedEvidence } from './reresolve.ts';

export interface EvidenceStep {
  readonly from: IdentifierKey;
  readonly to: IdentifierKey;
  readonly messageId: string;
  readonly messageType: string;
  readonly source: string;
  readonly timestamp: string;
  readonly rule: string;
  /** For a match link: how it was made, its score and the weight of each attribute. */
  readonly match?: MatchEvidence;
}

/** A probabilistic or manual link as explain shows it. */
export interface MatchEvidence {
  readonly kind: 'probabilistic' | 'manual';
  readonly pairId: string;
  readonly probability: number;
  /** Match weight: log2 of the odds, the prior plus every attribute's weight. */
  readonly weight: number;
  readonly modelVersion: string;
  readonly attributes: JsonValue;
  readonly decidedAt: string | null;
}

export interface KeptApart {
  readonly messageId: string;
  readonly timestamp: string;
  readonly identifier: IdentifierKey;
  readonly refusedJoining: IdentifierKey;
  readonly rule: string;
}

export type Explanation =
  | { linked: true; profileId: string; path: EvidenceStep[] }
  | { linked: false; reason: string; keptApartBy: KeptApart[] };

/**
 * Why are two identifiers in one profile, or why not? Replays their component's evidence with
 * tracing on, then walks the links that joined them (each one a message, its source and time, and
 * the rule that made it) or lists the refusals (the rule that kept them apart).
 */
export async function explain(read: ReadPort, ws: Workspace, a: IdentifierKey, b: IdentifierKey): Promise<Explanation> {
  const states = new Map((await read.loadIdentifiers(ws.id, [a, b])).map((s) => [s.key, s]));
  for (const key of [a, b]) {
    const s = states.get(key);
    if (s === undefined) return { linked: false, reason: `no evidence mentions ${key}`, keptApartBy: [] };
    if (s.quarantined) {
      return {
        linked: false,
        reason: `${key} is quarantined: it appeared with more than ${ws.rules.quarantine.maxPeers} distinct values of one of ${ws.rules.quarantine.peerTypes.join(', ')}, so it links nobody`,
        keptApartBy: [],
      };
    }
  }
  if (a === b) {
    return { linked: true, profileId: states.get(a)!.profileId ?? '', path: [] };
  }
  const closed = await loadClosedEvidence(read, ws.id, [a, b], [], { withMatches: ws.rules.matching !== undefined });
  const quarantined = new Set([...closed.identifiers.values()].filter((s) => s.quarantined).map((s) => s.key));
  const result = replay({ ws: ws.id, rules: ws.rules, messages: closed.messages, quarantined, trace: true, edges: closed.edges, rejections: closed.rejections });
  const byId = new Map(closed.messages.map((m) => [m.messageId, m]));
  const profileA = result.identifiers.get(a)?.profileId ?? null;
  const profileB = result.identifiers.get(b)?.profileId ?? null;

  if (profileA !== null && profileA === profileB) {
    return {
      linked: true,
      profileId: profileA,
      path: findPath(result.links, a, b).map((link) => (link.edge === undefined ? step(link, byId.get(link.messageId)!) : matchStep(link, closed.pairs.get(link.edge)!))),
    };
  }
  const componentOf = (k: IdentifierKey): string | undefined => {
    const pid = result.identifiers.get(k)?.profileId;
    return result.profiles.find((p) => p.id === pid)?.componentId;
  };
  if (componentOf(a) !== componentOf(b)) {
    return { linked: false, reason: `no chain of evidence connects ${a} and ${b}`, keptApartBy: [] };
  }
  const profileOf = (k: IdentifierKey): string | null => result.identifiers.get(k)?.profileId ?? null;
  const pair = new Set<string | null>([profileA, profileB]);
  const refusals = result.refusals.filter((r) => pair.has(profileOf(r.key)) && pair.has(profileOf(r.into)));
  return {
    linked: false,
    reason: `evidence connects ${a} and ${b}, but joining them would break an identity rule`,
    keptApartBy: refusals.map((r) => ({
      messageId: r.messageId,
      timestamp: new Date(r.t).toISOString(),
      identifier: r.key,
      refusedJoining: r.into,
      rule:
        r.rule === 'rejected'
          ? `rejected in review: ${r.rejected![0]} and ${r.rejected![1]} are never linked`
          : `at most ${r.limit} ${r.type} per profile${r.edge === undefined ? '' : ` (a ${linkKind(closed.pairs.get(r.edge))} link was refused)`}`,
    })),
  };
}

function step(link: LinkTrace, msg: EvidenceMessage): EvidenceStep {
  return {
    from: link.from,
    to: link.to,
    messageId: link.messageId,
    messageType: msg.type,
    source: msg.source,
    timestamp: new Date(msg.t).toISOString(),
    rule: `seen together in one ${msg.type} message`,
  };
}

function linkKind(pair: MatchPair | undefined): 'probabilistic' | 'manual' {
  return pair?.status === 'accepted' ? 'manual' : 'probabilistic';
}

function matchStep(link: LinkTrace, pair: MatchPair): EvidenceStep {
  const kind = linkKind(pair);
  return {
    from: link.from,
    to: link.to,
    messageId: pair.id,
    messageType: kind,
    source: kind === 'manual' ? 'review' : `model ${pair.modelVersion}`,
    timestamp: new Date(pair.t).toISOString(),
    rule:
      kind === 'manual'
        ? `accepted in review (scored ${pair.probability.toFixed(4)})`
        : `probabilistic match: probability ${pair.probability.toFixed(4)}, weight ${pair.weight.toFixed(2)}`,
    match: {
      kind,
      pairId: pair.id,
      probability: pair.probability,
      weight: pair.weight,
      modelVersion: pair.modelVersion,
      attributes: pair.attributes,
      decidedAt: pair.decidedAt === null ? null : new Date(pair.decidedAt).toISOString(),
    },
  };
}

/** Breadth-first search over the links (a spanning forest), so the path is the shortest chain. */
function findPath(links: readonly LinkTrace[], a: IdentifierKey, b: IdentifierKey): LinkTrace[] {
  const adjacent = new Map<IdentifierKey, Array<{ next: IdentifierKey; link: LinkTrace }>>();
  for (const link of links) {
    if (!adjacent.has(link.from)) adjacent.set(link.from, []);
    if (!adjacent.has(link.to)) adjacent.set(link.to, []);
    adjacent.get(link.from)!.push({ next: link.to, link });
    adjacent.get(link.to)!.push({ next: link.from, link });
  }
  const previous = new Map<IdentifierKey, { from: IdentifierKey; link: LinkTrace }>();
  const queue: IdentifierKey[] = [a];
  const seen = new Set<IdentifierKey>([a]);
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (current === b) break;
    for (const { next, link } of adjacent.get(current) ?? []) {
      if (seen.has(next)) continue;
      seen.add(next);
      previous.set(next, { from: current, link });
      queue.push(next);
    }
  }
  const path: LinkTrace[] = [];
  for (let k = b; k !== a; ) {
    const p = previous.get(k);
    if (p === undefined) return [];
    path.unshift({ ...p.link, from: p.from, to: k });
    k = p.from;
  }
  return path;
}
