import type {
  ComponentState,
  EvidenceMessage,
  HistoryEntry,
  IdentifierState,
  ProfileId,
  ProfileState,
  WorkspaceId,
  WriteTx,
} from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';
import { replay, type EdgeEvidence } from './replay.ts';
import type { MatchPair, MatchRead } from '../store/match-ports.ts';
import { changeSet } from '../store/change-set.ts';
import type { IdentityRules } from './rules.ts';

export interface ReresolveRequest {
  /** Identifiers to start from (their whole raw components are re-resolved). */
  readonly seeds: readonly IdentifierKey[];
  /** Components to re-resolve whole. */
  readonly components: readonly string[];
  readonly now: number;
  /** The message that caused it, when there was one, for history. */
  readonly cause: string | null;
  /** Recorded on split history entries, e.g. `{ deletedIdentifier: 'email:x' }`. */
  readonly reason?: Record<string, string>;
}

export interface ClosedEvidence {
  readonly messages: EvidenceMessage[];
  /** The stored state of every identifier the messages carry. */
  readonly identifiers: Map<IdentifierKey, IdentifierState>;
  /** Match links and rejections among them (loaded only when `withMatches`). */
  readonly edges: EdgeEvidence[];
  readonly rejections: Array<readonly [IdentifierKey, IdentifierKey]>;
  /** Every scored pair found, by id, for explanations. */
  readonly pairs: Map<string, MatchPair>;
}

/**
 * Loads the closed evidence around some identifiers: every message carrying one of them, then every
 * message carrying an identifier of those messages, and so on, so that the result is a union of
 * whole raw components. Already-quarantined identifiers are not followed (their own evidence may be
 * huge: that is why they are quarantined), except when they are seeds.
 */
export async function loadClosedEvidence(
  source: Pick<WriteTx, 'loadEvidence' | 'loadIdentifiers' | 'loadComponentMembers'> & { readonly match: Pick<MatchRead, 'pairsOf'> },
  ws: WorkspaceId,
  seeds: readonly IdentifierKey[],
  components: readonly string[],
  options: { withMatches: boolean } = { withMatches: false },
): Promise<ClosedEvidence & { oldProfiles: ProfileState[] }> {
  const members = components.length > 0 ? await source.loadComponentMembers(ws, components) : { profiles: [], identifiers: [] };
  const identifiers = new Map<IdentifierKey, IdentifierState>();
  for (const s of members.identifiers) identifiers.set(s.key, s);
  const frontier = new Set<IdentifierKey>([...seeds, ...members.identifiers.map((s) => s.key)]);
  for (const s of await source.loadIdentifiers(ws, seeds)) identifiers.set(s.key, s);
  const followed = new Set<IdentifierKey>();
  const messages = new Map<string, EvidenceMessage>();
  const pairs = new Map<string, MatchPair>();
  while (frontier.size > 0) {
    const round = [...frontier];
    frontier.clear();
    for (const k of round) followed.add(k);
    // Match links are evidence too: they join raw components, so the closure follows them.
    if (options.withMatches) {
      for (const p of await source.match.pairsOf(ws, round)) {
        if (pairs.has(p.id)) continue;
        pairs.set(p.id, p);
        if (p.status !== 'linked' && p.status !== 'accepted') continue;
        for (const k of [p.a, p.b]) if (!followed.has(k)) frontier.add(k);
      }
    }
    const found = await source.loadEvidence(ws, round);
    const unknown = new Set<IdentifierKey>();
    for (const msg of found) {
      if (messages.has(msg.messageId)) continue;
      messages.set(msg.messageId, msg);
      for (const k of msg.keys) if (!identifiers.has(k)) unknown.add(k);
    }
    if (unknown.size > 0) for (const s of await source.loadIdentifiers(ws, [...unknown])) identifiers.set(s.key, s);
    for (const msg of found) {
      for (const k of msg.keys) {
        if (followed.has(k)) continue;
        if (identifiers.get(k)?.quarantined === true) continue;
        frontier.add(k);
      }
    }
  }
  if (pairs.size > 0) {
    const unknown = new Set<IdentifierKey>();
    for (const p of pairs.values()) for (const k of [p.a, p.b]) if (!identifiers.has(k)) unknown.add(k);
    if (unknown.size > 0) for (const s of await source.loadIdentifiers(ws, [...unknown])) identifiers.set(s.key, s);
  }
  const edges: EdgeEvidence[] = [];
  const rejections: Array<readonly [IdentifierKey, IdentifierKey]> = [];
  for (const p of pairs.values()) {
    if (p.status === 'linked' || p.status === 'accepted') edges.push({ id: p.id, a: p.a, b: p.b, t: p.t, m: p.m });
    else if (p.status === 'rejected') rejections.push([p.a, p.b]);
  }
  return { messages: [...messages.values()], identifiers, oldProfiles: members.profiles, edges, rejections, pairs };
}

/**
 * Re-resolves the raw components around `seeds` and `components` from their stored evidence and
 * writes the result: identifiers move to their new profiles, profiles that no longer exist redirect
 * to where their identifiers went, and every merge and split is recorded in history. The cost is
 * bounded by the size of those components, never by the workspace.
 */
export async function reresolve(tx: WriteTx, ws: { id: WorkspaceId; rules: IdentityRules }, req: ReresolveRequest): Promise<{ merges: number; splits: number }> {
  // Whole old components are re-resolved: a component about to be deleted must not keep a profile
  // outside the closure (one the evidence no longer reaches, e.g. across a withdrawn match link).
  const components = new Set(req.components);
  let closed = await loadClosedEvidence(tx, ws.id, req.seeds, [...components], { withMatches: ws.rules.matching !== undefined });
  for (;;) {
    const reached = new Set<ProfileId>();
    for (const s of closed.identifiers.values()) if (s.profileId !== null) reached.add(s.profileId);
    const outside = (await tx.loadProfiles(ws.id, [...reached])).map((p) => p.componentId).filter((c) => !components.has(c));
    if (outside.length === 0) break;
    for (const c of outside) components.add(c);
    closed = await loadClosedEvidence(tx, ws.id, req.seeds, [...components], { withMatches: ws.rules.matching !== undefined });
  }
  const quarantined = new Set<IdentifierKey>();
  for (const s of closed.identifiers.values()) if (s.quarantined) quarantined.add(s.key);
  const result = replay({ ws: ws.id, rules: ws.rules, messages: closed.messages, quarantined, edges: closed.edges, rejections: closed.rejections });

  // Old state, for history and clean-up: the closure covers whole components (above), so their
  // members are every profile an affected identifier belonged to.
  const oldProfiles = closed.oldProfiles;
  const oldProfileIds = new Set<ProfileId>(oldProfiles.map((p) => p.id));
  const oldComponents = new Set<string>(oldProfiles.map((p) => p.componentId));
  for (const s of closed.identifiers.values()) if (s.profileId !== null) oldProfileIds.add(s.profileId);

  const newIds = new Set(result.profiles.map((p) => p.id));
  reuseComponentIds(result.profiles, result.components, new Map(oldProfiles.map((p) => [p.id, p.componentId])));
  const oldById = new Map(oldProfiles.map((p) => [p.id, p]));
  const changedProfiles = result.profiles.filter((p) => !sameProfile(p, oldById.get(p.id)));
  const changedIdentifiers = [...result.identifiers.values()].filter((s) => !sameIdentifier(s, closed.identifiers.get(s.key)));
  const keptComponents = new Set(result.components.map((c) => c.id));
  const targets = new Map<ProfileId, Set<ProfileId>>();
  const sources = new Map<ProfileId, Set<ProfileId>>();
  for (const [key, state] of result.identifiers) {
    const before = closed.identifiers.get(key)?.profileId ?? null;
    if (before === null || state.profileId === null) continue;
    if (!targets.has(before)) targets.set(before, new Set());
    targets.get(before)!.add(state.profileId);
    if (!sources.has(state.profileId)) sources.set(state.profileId, new Set());
    sources.get(state.profileId)!.add(before);
  }

  const history: HistoryEntry[] = [];
  const redirects: Array<{ from: ProfileId; to: ProfileId[] }> = [];
  for (const [newId, from] of sources) {
    const absorbed = [...from].filter((id) => id !== newId && targets.get(id)?.size === 1);
    if (absorbed.length === 0) continue;
    const kind = absorbed.length === 1 && !oldProfileIds.has(newId) && from.size === 1 ? 'rekey' : 'merge';
    history.push({ kind, profileId: newId, related: absorbed, at: req.now, messageId: req.cause, detail: { ...req.reason } });
  }
  for (const [oldId, to] of targets) {
    if (to.size > 1) {
      const parts = [...to].sort();
      history.push({ kind: 'split', profileId: oldId, related: parts.filter((id) => id !== oldId), at: req.now, messageId: req.cause, detail: { ...req.reason } });
    }
  }
  for (const oldId of oldProfileIds) {
    if (newIds.has(oldId)) continue;
    redirects.push({ from: oldId, to: [...(targets.get(oldId) ?? [])].sort() });
  }

  const primaries: Array<{ messageId: string; primary: IdentifierKey | null }> = [];
  for (const msg of closed.messages) {
    const primary = result.primaries.get(msg.messageId) ?? null;
    if (primary !== msg.primary) primaries.push({ messageId: msg.messageId, primary });
  }

  await tx.apply(
    ws.id,
    changeSet({
      identifiers: changedIdentifiers,
      profiles: changedProfiles,
      deletedProfiles: [...oldProfileIds].filter((id) => !newIds.has(id)),
      components: result.components,
      deletedComponents: [...oldComponents].filter((id) => !keptComponents.has(id)),
      primaries,
      history,
      redirects,
    }),
  );
  return { merges: history.filter((h) => h.kind === 'merge').length, splits: history.filter((h) => h.kind === 'split').length };
}

/**
 * Gives each re-resolved component the id of an old component one of its profiles came from, when
 * no other new component took it first, so profiles whose content did not change need no rewrite.
 */
function reuseComponentIds(profiles: ProfileState[], components: ComponentState[], oldComponentOf: Map<ProfileId, string>): void {
  const byId = new Map(components.map((c) => [c.id, c]));
  const renamed = new Map<string, string>();
  const taken = new Set<string>();
  for (const p of [...profiles].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (renamed.has(p.componentId)) continue;
    const old = oldComponentOf.get(p.id);
    if (old === undefined || taken.has(old)) continue;
    taken.add(old);
    renamed.set(p.componentId, old);
  }
  for (const [from, to] of renamed) {
    const c = byId.get(from);
    if (c !== undefined) (c as { id: string }).id = to;
  }
  for (const p of profiles) p.componentId = renamed.get(p.componentId) ?? p.componentId;
}

function sameProfile(a: ProfileState, b: ProfileState | undefined): boolean {
  return (
    b !== undefined &&
    a.componentId === b.componentId &&
    a.founder === b.founder &&
    a.founderT === b.founderT &&
    a.founderM === b.founderM &&
    a.founderPos === b.founderPos &&
    a.firstT === b.firstT &&
    a.lastT === b.lastT &&
    sortedJson(a.traits) === sortedJson(b.traits) &&
    sortedJson(a.consent ?? {}) === sortedJson(b.consent ?? {}) &&
    sortedJson(a.counts) === sortedJson(b.counts)
  );
}

/** What an identifier row stores (first evidence is not stored: it is read from the evidence). */
function sameIdentifier(a: IdentifierState, b: IdentifierState | undefined): boolean {
  return (
    b !== undefined &&
    a.profileId === b.profileId &&
    a.quarantined === b.quarantined &&
    sortedJson(a.peers) === sortedJson(b.peers)
  );
}

/** JSON with object keys in sorted order at the top level, for order-insensitive comparison. */
function sortedJson(o: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
}
