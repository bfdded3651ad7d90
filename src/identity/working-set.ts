import type {
  ChangeSet,
  ComponentState,
  HistoryEntry,
  IdentifierState,
  NewMessage,
  ProfileId,
  ProfileState,
} from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';

/**
 * The part of the graph one batch touches, loaded once, changed in memory, and written back as one
 * ChangeSet. Merges are recorded as redirects (old id → survivor) so rows loaded before a merge
 * still find their profile and component.
 */
export class WorkingSet {
  readonly identifiers = new Map<IdentifierKey, IdentifierState>();
  readonly profiles = new Map<ProfileId, ProfileState>();
  readonly components = new Map<string, ComponentState>();

  private readonly profileRedirect = new Map<ProfileId, ProfileId>();
  private readonly componentRedirect = new Map<string, string>();
  private readonly dirtyIdentifiers = new Set<IdentifierKey>();
  private readonly dirtyProfiles = new Set<ProfileId>();
  private readonly deletedProfiles = new Set<ProfileId>();
  private readonly dirtyComponents = new Set<string>();
  private readonly deletedComponents = new Set<string>();
  private readonly profileRepoints: Array<{ from: ProfileId; to: ProfileId }> = [];
  private readonly componentRepoints: Array<{ from: string; to: string }> = [];
  readonly messages: NewMessage[] = [];
  readonly history: HistoryEntry[] = [];
  private readonly redirects = new Map<ProfileId, ProfileId[]>();

  resolveProfileId(id: ProfileId): ProfileId {
    let r = id;
    for (let next = this.profileRedirect.get(r); next !== undefined; next = this.profileRedirect.get(r)) r = next;
    return r;
  }

  resolveComponentId(id: string): string {
    let r = id;
    for (let next = this.componentRedirect.get(r); next !== undefined; next = this.componentRedirect.get(r)) r = next;
    return r;
  }

  /** The live profile of an identifier, following in-batch merges. */
  profileOf(key: IdentifierKey): ProfileState | undefined {
    const state = this.identifiers.get(key);
    if (state === undefined || state.profileId === null) return undefined;
    return this.profiles.get(this.resolveProfileId(state.profileId));
  }

  componentOf(profile: ProfileState): ComponentState | undefined {
    return this.components.get(this.resolveComponentId(profile.componentId));
  }

  touchIdentifier(state: IdentifierState): void {
    this.identifiers.set(state.key, state);
    this.dirtyIdentifiers.add(state.key);
  }

  touchProfile(profile: ProfileState): void {
    this.profiles.set(profile.id, profile);
    this.dirtyProfiles.add(profile.id);
    this.deletedProfiles.delete(profile.id);
  }

  touchComponent(component: ComponentState): void {
    this.components.set(component.id, component);
    this.dirtyComponents.add(component.id);
    this.deletedComponents.delete(component.id);
  }

  /** Every identifier of `from` now belongs to `to`; `from` is gone and redirects there. */
  moveProfile(from: ProfileState, to: ProfileState): void {
    // `to` is live: an older redirect away from its id (it may have been merged away earlier in
    // this batch and come back through a re-key) must go, or lookups would loop.
    this.profileRedirect.delete(to.id);
    this.profileRedirect.set(from.id, to.id);
    this.profileRepoints.push({ from: from.id, to: to.id });
    this.profiles.delete(from.id);
    this.dirtyProfiles.delete(from.id);
    this.deletedProfiles.add(from.id);
    this.redirects.set(from.id, [to.id]);
    this.redirects.delete(to.id);
    // Identifiers still naming `from` are found through the redirect; the store repoints the rows.
  }

  /** Every profile of component `from` now belongs to `to`. */
  moveComponent(from: string, to: string): void {
    if (from === to) return;
    this.componentRedirect.delete(to);
    this.componentRedirect.set(from, to);
    this.componentRepoints.push({ from, to });
    this.components.delete(from);
    this.dirtyComponents.delete(from);
    this.deletedComponents.add(from);
  }

  toChangeSet(): ChangeSet {
    const profiles: ProfileState[] = [];
    for (const id of this.dirtyProfiles) {
      const p = this.profiles.get(id);
      if (p === undefined) continue;
      p.componentId = this.resolveComponentId(p.componentId);
      profiles.push(p);
    }
    const identifiers: IdentifierState[] = [];
    for (const key of this.dirtyIdentifiers) {
      const s = this.identifiers.get(key);
      if (s === undefined) continue;
      if (s.profileId !== null) s.profileId = this.resolveProfileId(s.profileId);
      identifiers.push(s);
    }
    const components: ComponentState[] = [];
    for (const id of this.dirtyComponents) {
      const c = this.components.get(id);
      if (c !== undefined) components.push(c);
    }
    return {
      messages: this.messages,
      profileRepoints: this.profileRepoints,
      componentRepoints: this.componentRepoints,
      identifiers,
      deletedIdentifiers: [],
      profiles,
      deletedProfiles: [...this.deletedProfiles],
      components,
      deletedComponents: [...this.deletedComponents],
      primaries: [],
      retractions: [],
      history: this.history,
      redirects: [...this.redirects].map(([from, to]) => ({ from, to: to.map((id) => this.resolveProfileId(id)) })),
      rejected: [],
    };
  }
}
