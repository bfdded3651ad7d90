import type { JsonObject, MessageType } from '../spec/segment-message.ts';
import type { IdentifierState, ProfileState, WorkspaceId, WriteTx } from '../store/ports.ts';
import { applyTraits, mergeTraits } from '../profile/traits.ts';
import { applyConsent, mergeConsent, type ConsentPreferences } from '../profile/consent.ts';
import { markSuppressed } from '../privacy/suppression.ts';
import { compareEventKeys, compareFirstKeys } from './event-order.ts';
import { splitIdentifierKey, type IdentifierKey } from './identifier.ts';
import { addPeer, isOverPeerLimit } from './peers.ts';
import { profileIdFor } from './profile-id.ts';
import { limitViolation, newComponentId } from './replay.ts';
import { reresolve } from './reresolve.ts';
import { matchAfterBatch } from './match-after-batch.ts';
import { typeRule, type IdentityRules } from './rules.ts';
import { WorkingSet } from './working-set.ts';

/** A validated message with its identifiers extracted, ready for resolution. */
export interface PreparedMessage {
  readonly messageId: string;
  readonly type: MessageType;
  readonly event: string | null;
  readonly t: number;
  readonly receivedAt: number;
  readonly source: string;
  /** Identifier keys in link order (see extract-identifiers.ts). */
  readonly keys: readonly IdentifierKey[];
  /** identify traits, applied to the profile by survivorship. */
  readonly traits: JsonObject | null;
  /** Consent preferences the message carries (`context.consent`), applied like traits. */
  readonly consent?: ConsentPreferences | null;
  readonly body: string;
}

/** `suppressed`: it carries an erased person's identifier and was dropped (privacy/suppression.ts). */
export type MessageOutcome = 'accepted' | 'duplicate' | 'suppressed';

export interface BatchResult {
  /** messageId → what happened to it. */
  readonly outcomes: Map<string, MessageOutcome>;
  readonly stats: ResolveStats;
}

export interface ResolveStats {
  merges: number;
  splits: number;
  quarantines: number;
  replays: number;
  fastPath: number;
}

/**
 * Resolves a batch of messages inside one write transaction: duplicates are dropped, the rest are
 * stored and linked. Messages are taken in canonical order. Each one takes the fast path when it
 * cannot change an earlier decision (it is newer than everything in the components it touches, or
 * it only adds to one profile without approaching a limit); otherwise its components are marked
 * and re-resolved from their evidence once, at the end of the batch. Either way the outcome equals
 * a replay of all evidence in canonical order (invariant 2), which the property tests check.
 */
export async function resolveBatch(
  tx: WriteTx,
  ws: { id: WorkspaceId; rules: IdentityRules },
  batch: readonly PreparedMessage[],
  now: number,
): Promise<BatchResult> {
  const outcomes = new Map<string, MessageOutcome>();
  // Erased people stay erased: messages carrying a suppressed identifier are skipped like duplicates.
  await markSuppressed(tx, ws.id, batch, outcomes);
  const unique = new Map<string, PreparedMessage>();
  for (const m of batch) if (!unique.has(m.messageId)) unique.set(m.messageId, m);
  const existing = await tx.existingMessageIds(ws.id, [...unique.keys()]);
  const fresh: PreparedMessage[] = [];
  for (const m of batch) {
    if (existing.has(m.messageId) || outcomes.has(m.messageId)) {
      outcomes.set(m.messageId, outcomes.get(m.messageId) ?? 'duplicate');
      continue;
    }
    outcomes.set(m.messageId, 'accepted');
    fresh.push(m);
  }
  const stats: ResolveStats = { merges: 0, splits: 0, quarantines: 0, replays: 0, fastPath: 0 };
  if (fresh.length === 0) return { outcomes, stats };
  fresh.sort((a, b) => compareEventKeys({ t: a.t, m: a.messageId }, { t: b.t, m: b.messageId }));

  const set = await loadWorkingSet(tx, ws.id, fresh);
  const resolver = new BatchResolver(ws.id, ws.rules, set, now, stats);
  for (const m of fresh) resolver.apply(m);
  const changes = set.toChangeSet();
  await tx.apply(ws.id, changes);

  if (resolver.dirtyComponents.size > 0 || resolver.seeds.size > 0) {
    stats.replays += 1;
    const changed = await reresolve(tx, ws, {
      seeds: [...resolver.seeds],
      components: [...resolver.dirtyComponents],
      now,
      cause: resolver.deferredMessageIds.length === 1 ? resolver.deferredMessageIds[0]! : null,
    });
    stats.merges += changed.merges;
    stats.splits += changed.splits;
  }
  // Probabilistic matching: one property check per batch for workspaces that never configured it.
  if (ws.rules.matching !== undefined) {
    const matched = await matchAfterBatch(tx, ws, { messages: fresh, changedProfiles: changes.profiles.map((p) => p.id), now });
    stats.merges += matched.merges;
    stats.splits += matched.splits;
  }
  return { outcomes, stats };
}

async function loadWorkingSet(tx: WriteTx, ws: WorkspaceId, messages: readonly PreparedMessage[]): Promise<WorkingSet> {
  const set = new WorkingSet();
  const keys = new Set<IdentifierKey>();
  for (const m of messages) for (const k of m.keys) keys.add(k);
  const identifiers = await tx.loadIdentifiers(ws, [...keys]);
  const profileIds = new Set<ProfileState['id']>();
  for (const s of identifiers) {
    set.identifiers.set(s.key, s);
    if (s.profileId !== null) profileIds.add(s.profileId);
  }
  const profiles = await tx.loadProfiles(ws, [...profileIds]);
  const componentIds = new Set<string>();
  for (const p of profiles) {
    set.profiles.set(p.id, p);
    componentIds.add(p.componentId);
  }
  for (const c of await tx.loadComponents(ws, [...componentIds])) set.components.set(c.id, c);
  return set;
}

class BatchResolver {
  /** Components whose decisions a late message may change: re-resolved after the batch. */
  readonly dirtyComponents = new Set<string>();
  /** Identifiers (new ones, and newly quarantined ones) the re-resolution must start from. */
  readonly seeds = new Set<IdentifierKey>();
  readonly deferredMessageIds: string[] = [];

  constructor(
    private readonly ws: WorkspaceId,
    private readonly rules: IdentityRules,
    private readonly set: WorkingSet,
    private readonly now: number,
    private readonly stats: ResolveStats,
  ) {}

  apply(m: PreparedMessage): void {
    const { set } = this;
    set.messages.push({
      messageId: m.messageId,
      type: m.type,
      event: m.event,
      t: m.t,
      receivedAt: m.receivedAt,
      source: m.source,
      keys: m.keys,
      primary: null,
      body: m.body,
    });
    const stored = set.messages[set.messages.length - 1]!;

    // Identifier bookkeeping that does not depend on linking: new identifiers and peers. Rows are
    // rewritten only when something persisted changes, which keeps the write set small. An
    // identifier's first evidence is not kept on its row (it would be rewritten by every late
    // message older than it): the profile's founder carries what linking needs (see rekey).
    const created: IdentifierState[] = [];
    const newlyQuarantined: IdentifierState[] = [];
    for (const key of m.keys) {
      let state = set.identifiers.get(key);
      let changed = false;
      if (state === undefined) {
        state = { key, profileId: null, quarantined: false, peers: {} };
        set.identifiers.set(key, state);
        created.push(state);
        changed = true;
      }
      if (!state.quarantined) {
        for (const other of m.keys) if (other !== key && addPeer(state, other, this.rules)) changed = true;
        if (isOverPeerLimit(state, this.rules)) newlyQuarantined.push(state);
      }
      if (changed) set.touchIdentifier(state);
    }

    const live = m.keys.filter((k) => !set.identifiers.get(k)!.quarantined && !newlyQuarantined.some((q) => q.key === k));
    (stored as { primary: IdentifierKey | null }).primary = live[0] ?? null;
    const touchedProfiles = new Set<ProfileState>();
    const touchedComponents = new Set<string>();
    let pending = false;
    for (const key of live) {
      const state = set.identifiers.get(key)!;
      if (this.seeds.has(key)) pending = true;
      const profile = set.profileOf(key);
      if (profile !== undefined) {
        touchedProfiles.add(profile);
        touchedComponents.add(set.resolveComponentId(profile.componentId));
      } else if (state.profileId !== null || !created.includes(state)) {
        // Its profile is not loaded, or it is a stored identifier awaiting re-resolution (its
        // evidence, not this message, decides where it goes and how old it is).
        pending = true;
      }
    }
    for (const q of newlyQuarantined) {
      const profile = set.profileOf(q.key);
      if (profile !== undefined) touchedComponents.add(set.resolveComponentId(profile.componentId));
    }
    const dirty = [...touchedComponents].some((c) => this.dirtyComponents.has(c));

    if (newlyQuarantined.length > 0 || pending || dirty) {
      this.defer(m, created, newlyQuarantined, touchedComponents);
      return;
    }
    if (live.length === 0) return;

    const key = { t: m.t, m: m.messageId };
    const isLatest = [...touchedComponents].every((id) => {
      const c = set.components.get(id);
      return c !== undefined && compareEventKeys(key, { t: c.maxT, m: c.maxM }) > 0;
    });
    if (isLatest) {
      this.append(m, live, touchedComponents, false);
    } else if (this.fits([...touchedProfiles], created)) {
      this.append(m, live, touchedComponents, true);
    } else {
      this.defer(m, created, newlyQuarantined, touchedComponents);
      return;
    }
    this.stats.fastPath += 1;
  }

  /** A late message that could change earlier decisions: store it now, re-resolve after the batch. */
  private defer(m: PreparedMessage, created: IdentifierState[], quarantined: IdentifierState[], components: Set<string>): void {
    for (const c of components) this.dirtyComponents.add(c);
    for (const s of created) this.seeds.add(s.key);
    for (const k of m.keys) if (!this.set.identifiers.get(k)!.quarantined) this.seeds.add(k);
    for (const q of quarantined) {
      const was = this.set.profileOf(q.key);
      q.quarantined = true;
      q.profileId = null;
      this.stats.quarantines += 1;
      this.seeds.add(q.key);
      if (was !== undefined) {
        this.set.history.push({ kind: 'quarantine', profileId: was.id, related: [], at: this.now, messageId: m.messageId, detail: { identifier: q.key } });
      }
    }
    this.deferredMessageIds.push(m.messageId);
  }

  /**
   * Links a message greedily, exactly as replay would. Either the message is newer than all
   * evidence it touches (appending it to the canonical order changes nothing before it), or it is
   * `late` but everything it touches fits in one profile: groups only grow during a replay and
   * limits are monotone, so a union that fits at the end fits at every earlier point and makes no
   * earlier decision turn out differently. New identifiers start as unsaved groups and only become
   * profiles of their own if they cannot join (so a first login does not create and immediately
   * merge away a throwaway profile).
   */
  private append(m: PreparedMessage, live: IdentifierKey[], components: Set<string>, late: boolean): void {
    const { set } = this;
    type Group = ProfileState | { fresh: IdentifierState[]; counts: Record<string, number> };
    const isFresh = (g: Group): g is { fresh: IdentifierState[]; counts: Record<string, number> } => 'fresh' in g;
    const groupOf = (key: IdentifierKey): Group => {
      const found = set.profileOf(key);
      if (found !== undefined) return found;
      return { fresh: [set.identifiers.get(key)!], counts: { [splitIdentifierKey(key).type]: 1 } };
    };
    const leftovers: Array<{ fresh: IdentifierState[] }> = [];
    let base = groupOf(live[0]!);
    for (const key of live.slice(1)) {
      const g = groupOf(key);
      if (g === base) continue;
      if (limitViolation(base, g, this.rules) !== undefined) {
        if (isFresh(g)) leftovers.push(g);
        continue;
      }
      if (isFresh(g)) {
        if (isFresh(base)) {
          base.fresh.push(...g.fresh);
          for (const [t, n] of Object.entries(g.counts)) base.counts[t] = (base.counts[t] ?? 0) + n;
        } else {
          for (const s of g.fresh) this.addToProfile(base, s);
        }
      } else if (isFresh(base)) {
        for (const s of base.fresh) this.addToProfile(g, s);
        base = g;
      } else {
        base = this.merge(base, g, m.messageId);
      }
    }

    // One raw component now holds everything the message touched.
    const touched = [...components];
    const target = touched[0] ?? newComponentId();
    let max = { t: m.t, m: m.messageId };
    if (late) {
      for (const id of touched) {
        const c = set.components.get(id)!;
        if (compareEventKeys({ t: c.maxT, m: c.maxM }, max) > 0) max = { t: c.maxT, m: c.maxM };
      }
    }
    for (const other of touched.slice(1)) set.moveComponent(other, target);
    // The component row changes only when its newest evidence does, or components were joined.
    const current = set.components.get(target);
    if (current === undefined || touched.length > 1 || current.maxT !== max.t || current.maxM !== max.m) {
      set.touchComponent({ id: target, maxT: max.t, maxM: max.m });
    }
    for (const g of isFresh(base) ? [base, ...leftovers] : leftovers) {
      const profile = this.newProfile(g.fresh[0]!, m, target);
      for (const s of g.fresh.slice(1)) this.addToProfile(profile, s);
    }

    this.touchProfilesOf(live, m);
    const primary = set.profileOf(live[0]!)!;
    if (m.traits !== null && m.type === 'identify' && applyTraits(primary.traits, m.traits, m.t, m.messageId)) this.set.touchProfile(primary);
    if (m.consent != null && applyConsent((primary.consent ??= {}), m.consent, m.t, m.messageId)) this.set.touchProfile(primary);
    // Earlier evidence can make one of this message's identifiers the profile's oldest.
    if (late) this.rekeyIfFounderChanged(primary, m);
  }

  /** True when one profile holding all these profiles and new identifiers keeps every limit. */
  private fits(profiles: readonly ProfileState[], created: IdentifierState[]): boolean {
    const total: Record<string, number> = {};
    for (const p of profiles) for (const [type, n] of Object.entries(p.counts)) total[type] = (total[type] ?? 0) + n;
    for (const s of created) {
      const type = splitIdentifierKey(s.key).type;
      total[type] = (total[type] ?? 0) + 1;
    }
    for (const [type, n] of Object.entries(total)) {
      const limit = typeRule(this.rules, type).limit;
      if (limit !== undefined && n > limit) return false;
    }
    return true;
  }

  /**
   * A profile for a group of identifiers this message created (fresh groups hold nothing else), so
   * the founder's first evidence is this message, at the founder's position in it.
   */
  private newProfile(founder: IdentifierState, m: PreparedMessage, componentId: string): ProfileState {
    const type = splitIdentifierKey(founder.key).type;
    const profile: ProfileState = {
      id: profileIdFor(this.ws, founder.key),
      componentId,
      founder: founder.key,
      founderT: m.t,
      founderM: m.messageId,
      founderPos: m.keys.indexOf(founder.key),
      traits: {},
      counts: { [type]: 1 },
      firstT: m.t,
      lastT: m.t,
    };
    founder.profileId = profile.id;
    this.set.touchIdentifier(founder);
    this.set.touchProfile(profile);
    return profile;
  }

  private addToProfile(profile: ProfileState, state: IdentifierState): void {
    const type = splitIdentifierKey(state.key).type;
    state.profileId = profile.id;
    profile.counts[type] = (profile.counts[type] ?? 0) + 1;
    this.set.touchIdentifier(state);
    this.set.touchProfile(profile);
  }

  private touchProfilesOf(keys: readonly IdentifierKey[], m: PreparedMessage): void {
    for (const key of keys) {
      const p = this.set.profileOf(key);
      if (p === undefined) continue;
      if (m.t >= p.firstT && m.t <= p.lastT) continue;
      if (m.t < p.firstT) p.firstT = m.t;
      if (m.t > p.lastT) p.lastT = m.t;
      this.set.touchProfile(p);
    }
  }

  /** Joins two profiles; the one with the older founder survives and keeps its id. */
  private merge(a: ProfileState, b: ProfileState, messageId: string): ProfileState {
    const [keep, gone] = compareFounders(a, b) <= 0 ? [a, b] : [b, a];
    for (const [type, n] of Object.entries(gone.counts)) keep.counts[type] = (keep.counts[type] ?? 0) + n;
    mergeTraits(keep.traits, gone.traits);
    if (gone.consent !== undefined) mergeConsent((keep.consent ??= {}), gone.consent);
    keep.firstT = Math.min(keep.firstT, gone.firstT);
    keep.lastT = Math.max(keep.lastT, gone.lastT);
    this.set.moveProfile(gone, keep);
    this.set.touchProfile(keep);
    this.set.history.push({ kind: 'merge', profileId: keep.id, related: [gone.id], at: this.now, messageId, detail: {} });
    this.stats.merges += 1;
    return keep;
  }

  /**
   * A late message can be the earliest evidence of one of its identifiers and older than the
   * profile's founder; the profile id is a function of the founder, so the profile takes the new id
   * and the old one redirects to it. The founder's first evidence is at or before every member's,
   * so "this message, at this position, comes before the founder" is exactly "this identifier's
   * first evidence is now the profile's earliest": nothing but the message is needed to decide.
   */
  private rekeyIfFounderChanged(profile: ProfileState, m: PreparedMessage): void {
    const founderKey = { firstT: profile.founderT, firstM: profile.founderM, firstPos: profile.founderPos };
    // Positions grow along m.keys, so the first identifier that qualifies is the earliest.
    let founder: { key: IdentifierKey; firstT: number; firstM: string; firstPos: number } | undefined;
    for (let pos = 0; pos < m.keys.length && founder === undefined; pos++) {
      const key = m.keys[pos]!;
      const s = this.set.identifiers.get(key)!;
      if (s.profileId === null || this.set.resolveProfileId(s.profileId) !== profile.id) continue;
      const first = { key, firstT: m.t, firstM: m.messageId, firstPos: pos };
      if (compareFirstKeys(first, founderKey) < 0) founder = first;
    }
    if (founder === undefined) return;
    if (founder.key === profile.founder) {
      profile.founderT = founder.firstT;
      profile.founderM = founder.firstM;
      profile.founderPos = founder.firstPos;
      this.set.touchProfile(profile);
      return;
    }
    const renamed: ProfileState = {
      ...profile,
      id: profileIdFor(this.ws, founder.key),
      founder: founder.key,
      founderT: founder.firstT,
      founderM: founder.firstM,
      founderPos: founder.firstPos,
    };
    this.set.touchProfile(renamed);
    this.set.moveProfile(profile, renamed);
    this.set.history.push({ kind: 'rekey', profileId: renamed.id, related: [profile.id], at: this.now, messageId: m.messageId, detail: {} });
  }
}

function compareFounders(a: ProfileState, b: ProfileState): number {
  return compareFirstKeys(
    { firstT: a.founderT, firstM: a.founderM, firstPos: a.founderPos },
    { firstT: b.founderT, firstM: b.founderM, firstPos: b.founderPos },
  );
}
