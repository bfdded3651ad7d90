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
}

/** A join the rules refused: `key` stayed out of the profile that `into` belongs to. */
export interface RefusalTrace {
  readonly messageId: string;
  readonly t: number;
  readonly key: IdentifierKey;
  readonly into: IdentifierKey;
  readonly rule: 'limit';
  readonly type: string;
  readonly limit: number;
}

export interface ReplayInput {
  readonly ws: WorkspaceId;
  readonly rules: IdentityRules;
  /** Every message carrying any identifier of a closed set (a union of whole raw components). */
  readonly messages: readonly EvidenceMessage[];
  /** Identifiers already quarantined; they keep the flag (their evidence here may be partial). */
  readonly quarantined: ReadonlySet<IdentifierKey>;
  readonly trace?: boolean;
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

interface Group {
  parent: Group | null;
  founder: IdentifierState;
  counts: Record<string, number>;
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
  for (const msg of messages) {
    msg.keys.forEach((key, pos) => {
      if (quarantined.has(key)) return;
      const found = identifiers.get(key);
      if (found === undefined) {
        identifiers.set(key, {
          key,
          profileId: null,
          quarantined: false,
          firstT: msg.t,
          firstM: msg.messageId,
          firstPos: pos,
          firstSource: msg.source,
          peers: {},
        });
      }
      for (const other of msg.keys) if (other !== key) addPeer(identifiers.get(key)!, other, rules);
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

  for (const msg of messages) {
    const live = msg.keys.filter((k) => !excluded(k));
    primaries.set(msg.messageId, live[0] ?? null);
    if (live.length === 0) continue;
    for (const key of live) {
      if (!groups.has(key)) {
        const type = splitIdentifierKey(key).type;
        groups.set(key, { parent: null, founder: identifiers.get(key)!, counts: { [type]: 1 } });
        rawParent.set(key, key);
      }
    }
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
      const violation = limitViolation(base, g, rules);
      if (violation !== undefined) {
        if (input.trace === true) {
          refusals.push({ messageId: msg.messageId, t: msg.t, key, into: live[0]!, rule: 'limit', type: violation.type, limit: violation.limit });
        }
        continue;
      }
      base = union(base, g);
      if (input.trace === true) links.push({ messageId: msg.messageId, t: msg.t, from: live[0]!, to: key });
    }
  }

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
