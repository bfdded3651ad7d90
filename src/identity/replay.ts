import { randomBytes } from 'node:crypto';
import type { ComponentState, EvidenceMessage, IdentifierState, ProfileId, ProfileState, WorkspaceId } from '../store/ports.ts';
import { applyTraits } from '../profile/traits.ts';
import { applyConsent, consentPreferences } from '../profile/consent.ts';
import { compareEventKeys, compareFirstKeys } from './event-order.ts';
import { splitIdentifierKey, type IdentifierKey } from './identifier.ts';
import { profileIdFor } from './profile-id.ts';
import { typeRule, type IdentityRules } from './rules.ts';
import { addPeer, isOverPeerLimit } from './peers.ts';

/** Evidence that joined two identifiers into one profile. */
export interface LinkTrace {
  readonly messageId: string;
  readonly t: number;
  readonly from: IdentifierKey;
  readonly to: IdentifierKey;
  /** Set when a match link (probabilistic or manual) made the join: the scored pair's id. */
  readonly edge?: string;
}

/** A join the rules refused: `key` stayed out of the profile that `into` belongs to. */
export interface RefusalTrace {
  readonly messageId: string;
  readonly t: number;
  readonly key: IdentifierKey;
  readonly into: IdentifierKey;
  /** `limit`: a type limit; `rejected`: a person ruled in review that two of them never link. */
  readonly rule: 'limit' | 'rejected';
  readonly type: string;
  readonly limit: number;
  /** The match link that was refused, if it was one. */
  readonly edge?: string;
  /** For `rejected`: the rejected pair's two identifiers. */
  readonly rejected?: readonly [IdentifierKey, IdentifierKey];
}

/**
 * A match link as evidence: the scored pair `id` joins `a` and `b` (accepted in review, or scored at
 * or above the auto-link threshold). It takes its place in canonical order right after the event
 * (t, m): the later of the two records' first identify call, so it never moves ahead of the data
 * that made it.
 */
export interface EdgeEvidence {
  readonly id: string;
  readonly a: IdentifierKey;
  readonly b: IdentifierKey;
  readonly t: number;
  readonly m: string;
}

export interface ReplayInput {
  readonly ws: WorkspaceId;
  readonly rules: IdentityRules;
  /** Every message carrying any identifier of a closed set (a union of whole raw components). */
  readonly messages: readonly EvidenceMessage[];
  /** Identifiers already quarantined; they keep the flag (their evidence here may be partial). */
  readonly quarantined: ReadonlySet<IdentifierKey>;
  readonly trace?: boolean;
  /** Match links between identifiers of these messages (see EdgeEvidence). */
  readonly edges?: readonly EdgeEvidence[];
  /** Pairs rejected in review: no join may put both in one profile, whatever the evidence. */
  readonly rejections?: ReadonlyArray<readonly [IdentifierKey, IdentifierKey]>;
}

export interface ReplayOutput {
  /** Every identifier in the messages, except those quarantined before (left untouched). */
  readonly identifiers: Map<IdentifierKey, IdentifierState>;
  readonly profiles: ProfileState[];
  readonly components: ComponentState[];
  readonly primaries: Map<string, IdentifierKey | null>;
  readonly newlyQuarantined: IdentifierKey[];
  readonly links: LinkTrace[];
  readonly refusals: RefusalTrace[];
}

/** An identifier's first evidence as replay computes it: the earliest message carrying it, and where. */
interface FirstSeen {
  readonly key: IdentifierKey;
  readonly firstT: number;
  readonly firstM: string;
  readonly firstPos: number;
}

interface Group {
  parent: Group | null;
  founder: FirstSeen;
  counts: Record<string, number>;
  /** Members that are one end of a rejected pair (usually none). */
  rejected?: IdentifierKey[];
}

function root(g: Group): Group {
  let r = g;
  while (r.parent !== null) r = r.parent;
  // Path compression keeps finds near O(1) on long histories.
  let c = g;
  while (c.parent !== null && c.parent !== r) {
    const next: Group = c.parent;
    c.parent = r;
    c = next;
  }
  return r;
}

/**
 * Re-resolution from evidence: replays a closed set of messages in canonical order (event time,
 * then message id) through the same greedy, rule-checked union the fast path uses, and returns the
 * profiles the evidence implies. Profiles are a pure function of (messages, rules, prior
 * quarantine): this is the definition the incremental path must agree with.
 */
export function replay(input: ReplayInput): ReplayOutput {
  const { rules, quarantined } = input;
  const messages = [...input.messages].sort(compareEventKeysOf);

  const identifiers = new Map<IdentifierKey, IdentifierState>();
  // First evidence is computed here, from the messages in canonical order, and never stored on the
  // identifier: only the founder's is kept (on its profile).
  const firstSeen = new Map<IdentifierKey, FirstSeen>();
  for (const msg of messages) {
    msg.keys.forEach((key, pos) => {
      if (quarantined.has(key)) return;
      let state = identifiers.get(key);
      if (state === undefined) {
        state = { key, profileId: null, quarantined: false, peers: {} };
        identifiers.set(key, state);
        firstSeen.set(key, { key, firstT: msg.t, firstM: msg.messageId, firstPos: pos });
      }
      for (const other of msg.keys) if (other !== key) addPeer(state, other, rules);
    });
  }

  // Quarantine is a function of raw co-occurrence only, so it is settled before any linking.
  const newlyQuarantined: IdentifierKey[] = [];
  for (const state of identifiers.values()) {
    if (isOverPeerLimit(state, rules)) {
      state.quarantined = true;
      newlyQuarantined.push(state.key);
    }
  }
  const excluded = (key: IdentifierKey): boolean => quarantined.has(key) || identifiers.get(key)?.quarantined === true;

  const groups = new Map<IdentifierKey, Group>();
  const rawParent = new Map<IdentifierKey, IdentifierKey>();
  const rawRoot = (k: IdentifierKey): IdentifierKey => {
    let r = k;
    for (let p = rawParent.get(r); p !== undefined && p !== r; p = rawParent.get(r)) r = p;
    return r;
  };
  const primaries = new Map<string, IdentifierKey | null>();
  const links: LinkTrace[] = [];
  const refusals: RefusalTrace[] = [];

  const rejectedWith = new Map<IdentifierKey, IdentifierKey[]>();
  for (const [a, b] of input.rejections ?? []) {
    if (!rejectedWith.has(a)) rejectedWith.set(a, []);
    if (!rejectedWith.has(b)) rejectedWith.set(b, []);
    rejectedWith.get(a)!.push(b);
    rejectedWith.get(b)!.push(a);
  }
  const ensureGroup = (key: IdentifierKey): void => {
    if (groups.has(key)) return;
    const type = splitIdentifierKey(key).type;
    const group: Group = { parent: null, founder: firstSeen.get(key)!, counts: { [type]: 1 } };
    if (rejectedWith.has(key)) group.rejected = [key];
    groups.set(key, group);
    rawParent.set(key, key);
  };
  /** A rejected pair with one end in each group, if joining them would put it in one profile. */
  const rejection = (a: Group, b: Group): readonly [IdentifierKey, IdentifierKey] | undefined => {
    if (a.rejected === undefined || b.rejected === undefined) return undefined;
    for (const x of b.rejected) {
      for (const y of rejectedWith.get(x)!) {
        const g = groups.get(y);
        if (g !== undefined && root(g) === a) return [x, y];
      }
    }
    return undefined;
  };
  /**
   * Joins group `g` into `base` unless a type limit or a person's rejection forbids it (a refusal is
   * traced with where it happened); returns the joined group, or undefined when refused.
   */
  const join = (base: Group, g: Group, at: { messageId: string; t: number; key: IdentifierKey; into: IdentifierKey; edge?: string }): Group | undefined => {
    const violation = limitViolation(base, g, rules);
    const rejected = violation === undefined ? rejection(base, g) : undefined;
    if (violation === undefined && rejected === undefined) return union(base, g);
    if (input.trace === true) {
      refusals.push({
        messageId: at.messageId,
        t: at.t,
        key: at.key,
        into: at.into,
        rule: violation === undefined ? 'rejected' : 'limit',
        type: violation?.type ?? '',
        limit: violation?.limit ?? 0,
        ...(at.edge === undefined ? {} : { edge: at.edge }),
        ...(rejected === undefined ? {} : { rejected }),
      });
    }
    return undefined;
  };
  const edges = [...(input.edges ?? [])].map((e) => ({ edge: e, key: { t: e.t, m: `${e.m}\u0001${e.id}` } })).sort((x, y) => compareEventKeys(x.key, y.key));
  let nextEdge = 0;
  /** Applies the match links that come before `until` in canonical order (all of them when undefined). */
  const applyEdges = (until: { t: number; m: string } | undefined): void => {
    for (; nextEdge < edges.length; nextEdge++) {
      const { edge } = edges[nextEdge]!;
      if (until !== undefined && compareEventKeys(edges[nextEdge]!.key, until) > 0) return;
      if (!identifiers.has(edge.a) || !identifiers.has(edge.b) || excluded(edge.a) || excluded(edge.b)) continue;
      ensureGroup(edge.a);
      ensureGroup(edge.b);
      const ra = rawRoot(edge.a);
      const rb = rawRoot(edge.b);
      if (ra !== rb) rawParent.set(rb, ra);
      const base = root(groups.get(edge.a)!);
      const g = root(groups.get(edge.b)!);
      if (g === base) continue;
      if (join(base, g, { messageId: edge.id, t: edge.t, key: edge.b, into: edge.a, edge: edge.id }) === undefined) continue;
      if (input.trace === true) links.push({ messageId: edge.id, t: edge.t, from: edge.a, to: edge.b, edge: edge.id });
    }
  };

  for (const msg of messages) {
    if (nextEdge < edges.length) applyEdges({ t: msg.t, m: msg.messageId });
    const live = msg.keys.filter((k) => !excluded(k));
    primaries.set(msg.messageId, live[0] ?? null);
    if (live.length === 0) continue;
    for (const key of live) ensureGroup(key);
    // Raw connectivity ignores the rules: a refused link still ties the component together.
    const first = rawRoot(live[0]!);
    for (const key of live.slice(1)) {
      const r = rawRoot(key);
      if (r !== first) rawParent.set(r, first);
    }
    let base = root(groups.get(live[0]!)!);
    for (const key of live.slice(1)) {
      const g = root(groups.get(key)!);
      if (g === base) continue;
      const joined = join(base, g, { messageId: msg.messageId, t: msg.t, key, into: live[0]! });
      if (joined === undefined) continue;
      base = joined;
      if (input.trace === true) links.push({ messageId: msg.messageId, t: msg.t, from: live[0]!, to: key });
    }
  }
  applyEdges(undefined);

  // Profiles: one per union-find root, id from its founder.
  const profileOfRoot = new Map<Group, ProfileState>();
  const componentOfRaw = new Map<IdentifierKey, ComponentState>();
  for (const [key, group] of groups) {
    const r = root(group);
    let profile = profileOfRoot.get(r);
    if (profile === undefined) {
      const rawKey = rawRoot(key);
      let component = componentOfRaw.get(rawKey);
      if (component === undefined) {
        component = { id: newComponentId(), maxT: Number.NEGATIVE_INFINITY, maxM: '' };
        componentOfRaw.set(rawKey, component);
      }
      profile = {
        id: profileIdFor(input.ws, r.founder.key),
        componentId: component.id,
        founder: r.founder.key,
        founderT: r.founder.firstT,
        founderM: r.founder.firstM,
        founderPos: r.founder.firstPos,
        traits: {},
        counts: { ...r.counts },
        firstT: Number.POSITIVE_INFINITY,
        lastT: Number.NEGATIVE_INFINITY,
      };
      profileOfRoot.set(r, profile);
    }
    identifiers.get(key)!.profileId = profile.id;
  }

  const profileByKey = (key: IdentifierKey): ProfileState | undefined => {
    const g = groups.get(key);
    return g === undefined ? undefined : profileOfRoot.get(root(g));
  };
  for (const msg of messages) {
    const primary = primaries.get(msg.messageId);
    if (primary === null || primary === undefined) continue;
    // A profile's time span covers every message that touches it, linked or refused.
    for (const key of msg.keys) {
      const p = excluded(key) ? undefined : profileByKey(key);
      if (p === undefined) continue;
      if (msg.t < p.firstT) p.firstT = msg.t;
      if (msg.t > p.lastT) p.lastT = msg.t;
    }
    const profile = profileByKey(primary)!;
    const component = componentOfRaw.get(rawRoot(primary))!;
    if (compareEventKeys({ t: msg.t, m: msg.messageId }, { t: component.maxT, m: component.maxM }) > 0) {
      component.maxT = msg.t;
      component.maxM = msg.messageId;
    }
    if (msg.type === 'identify' && msg.traits !== null) applyTraits(profile.traits, msg.traits, msg.t, msg.messageId);
    const consent = msg.consent == null ? null : consentPreferences(msg.consent);
    if (consent !== null) applyConsent((profile.consent ??= {}), consent, msg.t, msg.messageId);
  }

  return {
    identifiers,
    profiles: [...profileOfRoot.values()],
    components: [...componentOfRaw.values()],
    primaries,
    newlyQuarantined,
    links,
    refusals,
  };
}

function compareEventKeysOf(a: EvidenceMessage, b: EvidenceMessage): number {
  return compareEventKeys({ t: a.t, m: a.messageId }, { t: b.t, m: b.messageId });
}

/** The first limited type whose count the union would push past its limit, if any. */
export function limitViolation(
  a: { counts: Record<string, number> },
  b: { counts: Record<string, number> },
  rules: IdentityRules,
): { type: string; limit: number } | undefined {
  for (const [type, n] of Object.entries(b.counts)) {
    const limit = typeRule(rules, type).limit;
    if (limit !== undefined && (a.counts[type] ?? 0) + n > limit) return { type, limit };
  }
  return undefined;
}

function union(a: Group, b: Group): Group {
  // The older founder survives: merges keep the older profile's id (invariant 6).
  const [keep, gone] = compareFirstKeys(a.founder, b.founder) <= 0 ? [a, b] : [b, a];
  gone.parent = keep;
  for (const [type, n] of Object.entries(gone.counts)) keep.counts[type] = (keep.counts[type] ?? 0) + n;
  if (gone.rejected !== undefined) keep.rejected = [...(keep.rejected ?? []), ...gone.rejected];
  return keep;
}

// Component ids are internal and need only be unique: a random per-process prefix and a counter
// avoid a call into the random generator for every new component.
const componentPrefix = `c_${randomBytes(8).toString('base64url')}_`;
let componentCounter = 0;

export function newComponentId(): string {
  componentCounter += 1;
  return componentPrefix + componentCounter.toString(36);
}

export type { ProfileId };
