import type { IdentifierRow, ProfileRow } from './sqlite-rows.ts';

export interface ComponentRow {
  id: string;
  max_t: number;
  max_m: string;
}

/**
 * Rows kept at most, per table (about 50 MB in all when full): enough for the active customers of a
 * large shop, small enough for a laptop. The oldest tenth is dropped when a table is full.
 */
const LIMITS = { identifiers: 100_000, profiles: 50_000, components: 50_000 };

/**
 * The write connection's copy of the graph rows it has read or written (identifiers, profiles,
 * components), exactly as they are stored, so the rows a group commit loads are usually already in
 * memory instead of being looked up and decoded again. The rows are the store's: every write the
 * connection makes to them goes through here too, and anything it cannot follow (a bulk statement,
 * a rollback, another connection's commit) empties the cache, which then fills again from the
 * database. Keys are `ws\0key` and `ws\0id`.
 */
export class RowCache {
  private readonly identifiers = new Map<string, IdentifierRow>();
  private readonly profiles = new Map<string, ProfileRow>();
  private readonly components = new Map<string, ComponentRow>();
  /** `ws\0profile` → identifier cache keys naming it, so repointing a profile can follow. */
  private readonly byProfile = new Map<string, Set<string>>();
  /** `ws\0component` → profile cache keys naming it. */
  private readonly byComponent = new Map<string, Set<string>>();
  private suspended = false;

  constructor(private readonly limits: { identifiers: number; profiles: number; components: number } = LIMITS) {}

  get sizes(): { identifiers: number; profiles: number; components: number } {
    return { identifiers: this.identifiers.size, profiles: this.profiles.size, components: this.components.size };
  }

  /** Stops using the cache until `clear()`: for statements whose effect on rows it cannot follow. */
  suspend(): void {
    this.suspended = true;
    this.drop();
  }

  clear(): void {
    this.suspended = false;
    this.drop();
  }

  get active(): boolean {
    return !this.suspended;
  }

  identifier(ws: string, key: string): IdentifierRow | undefined {
    return this.suspended ? undefined : this.identifiers.get(`${ws}\0${key}`);
  }

  profile(ws: string, id: string): ProfileRow | undefined {
    return this.suspended ? undefined : this.profiles.get(`${ws}\0${id}`);
  }

  component(ws: string, id: string): ComponentRow | undefined {
    return this.suspended ? undefined : this.components.get(`${ws}\0${id}`);
  }

  putIdentifier(ws: string, row: IdentifierRow): void {
    if (this.suspended) return;
    if (this.identifiers.size >= this.limits.identifiers) this.evict(this.identifiers, this.limits.identifiers, (k) => this.forgetIdentifier(k));
    const k = `${ws}\0${row.key}`;
    const old = this.identifiers.get(k);
    if (old !== undefined) {
      unindex(this.byProfile, `${ws}\0${old.profile}`, k);
      this.identifiers.delete(k); // re-inserted at the end: recently written rows are evicted last
    }
    this.identifiers.set(k, row);
    if (row.profile !== null) index(this.byProfile, `${ws}\0${row.profile}`, k);
  }

  deleteIdentifier(ws: string, key: string): void {
    this.forgetIdentifier(`${ws}\0${key}`);
  }

  private forgetIdentifier(k: string): void {
    const old = this.identifiers.get(k);
    if (old === undefined) return;
    unindex(this.byProfile, `${k.slice(0, k.indexOf('\0'))}\0${old.profile}`, k);
    this.identifiers.delete(k);
  }

  /** Follows `UPDATE identifiers SET profile = to WHERE profile = from`. */
  repointProfile(ws: string, from: string, to: string): void {
    const keys = this.byProfile.get(`${ws}\0${from}`);
    if (keys === undefined) return;
    this.byProfile.delete(`${ws}\0${from}`);
    for (const k of keys) {
      const row = this.identifiers.get(k)!;
      this.identifiers.set(k, { ...row, profile: to });
      index(this.byProfile, `${ws}\0${to}`, k);
    }
  }

  putProfile(ws: string, row: ProfileRow): void {
    if (this.suspended) return;
    if (this.profiles.size >= this.limits.profiles) this.evict(this.profiles, this.limits.profiles, (k) => this.forgetProfile(k));
    const k = `${ws}\0${row.id}`;
    const old = this.profiles.get(k);
    if (old !== undefined) {
      unindex(this.byComponent, `${ws}\0${old.component}`, k);
      this.profiles.delete(k);
    }
    this.profiles.set(k, row);
    index(this.byComponent, `${ws}\0${row.component}`, k);
  }

  deleteProfile(ws: string, id: string): void {
    this.forgetProfile(`${ws}\0${id}`);
  }

  private forgetProfile(k: string): void {
    const old = this.profiles.get(k);
    if (old === undefined) return;
    unindex(this.byComponent, `${k.slice(0, k.indexOf('\0'))}\0${old.component}`, k);
    this.profiles.delete(k);
  }

  /** Follows `UPDATE profiles SET component = to WHERE component = from`. */
  repointComponent(ws: string, from: string, to: string): void {
    const keys = this.byComponent.get(`${ws}\0${from}`);
    if (keys === undefined) return;
    this.byComponent.delete(`${ws}\0${from}`);
    for (const k of keys) {
      const row = this.profiles.get(k)!;
      this.profiles.set(k, { ...row, component: to });
      index(this.byComponent, `${ws}\0${to}`, k);
    }
  }

  putComponent(ws: string, row: ComponentRow): void {
    if (this.suspended) return;
    if (this.components.size >= this.limits.components) this.evict(this.components, this.limits.components, (k) => this.components.delete(k));
    this.components.delete(`${ws}\0${row.id}`);
    this.components.set(`${ws}\0${row.id}`, row);
  }

  deleteComponent(ws: string, id: string): void {
    this.components.delete(`${ws}\0${id}`);
  }

  /** Forgets the oldest-cached tenth of a full table (Map iteration follows insertion order). */
  private evict(map: Map<string, unknown>, max: number, forget: (k: string) => void): void {
    const victims: string[] = [];
    for (const k of map.keys()) {
      if (victims.length >= Math.max(1, max / 10)) break;
      victims.push(k);
    }
    for (const k of victims) forget(k);
  }

  private drop(): void {
    this.identifiers.clear();
    this.profiles.clear();
    this.components.clear();
    this.byProfile.clear();
    this.byComponent.clear();
  }
}

function index(map: Map<string, Set<string>>, at: string, k: string): void {
  let set = map.get(at);
  if (set === undefined) map.set(at, (set = new Set()));
  set.add(k);
}

function unindex(map: Map<string, Set<string>>, at: string, k: string): void {
  const set = map.get(at);
  if (set === undefined) return;
  set.delete(k);
  if (set.size === 0) map.delete(at);
}
