import type { Statement } from './postgres-rows.ts';

/**
 * Which rows a unit of work locks, and why that is enough.
 *
 * Units of work run at READ COMMITTED, so every statement sees the latest committed state, and they
 * serialise on the part of the graph they read before they decide anything. Every identifier,
 * profile and component row has a *guard*, a row whose lock stands for it:
 *
 *   - a profile and the identifiers it holds: the `components` row of the profile's raw component
 *     (`c:<id>`); every decision the resolver takes is about whole components;
 *   - a profile whose component row does not exist: the profile row (`p:<id>`);
 *   - an identifier without a profile (quarantined, or not yet resolved): its own row (`i:<key>`).
 *
 * A unit of work only writes rows it loaded, and the store hands out a loaded row only once its
 * guard is locked (`SELECT ... FOR UPDATE`, in a fixed order) and the row has been read again after
 * the lock was granted; if the guard changed meanwhile (a merge moved the identifier into another
 * component), the new guard is locked and the row read again. Whoever changes a row holds its guard
 * at the time, so a row handed out cannot change before commit. An identifier that did not exist
 * has no guard: two units of work creating the same one are caught by its unique key (the upsert
 * reports it updated a row it believed new) and one of them runs again, as do units of work that
 * insert the same message id (unique violation) or deadlock.
 *
 * Row locks live in the tuples, not in the server's lock table, so a batch may lock thousands of
 * components. Workspace-wide operations (rewriting every message's identifiers after a rules change)
 * take a workspace advisory lock exclusively; every other unit of work takes it shared.
 */
const LOCK_ROWS: Statement = {
  name: 'kith_lock_rows',
  text: `
    WITH lc AS (
      SELECT id FROM components WHERE ws = $1 AND id = ANY($2::text[]) ORDER BY id FOR UPDATE
    ), lp AS (
      SELECT id FROM profiles WHERE ws = $1 AND id = ANY($3::text[]) ORDER BY id FOR UPDATE
    ), li AS (
      SELECT key FROM identifiers WHERE ws = $1 AND key = ANY($4::text[]) ORDER BY key FOR UPDATE
    )
    SELECT 'c:' || id AS guard FROM lc
    UNION ALL SELECT 'p:' || id FROM lp
    UNION ALL SELECT 'i:' || key FROM li`,
};

/** The guard of each identifier (and of the profile it belongs to), from joined rows `i`, `p`, `c`. */
export const IDENTIFIER_GUARD = `CASE WHEN c.id IS NOT NULL THEN 'c:' || c.id WHEN p.id IS NOT NULL THEN 'p:' || p.id ELSE 'i:' || i.key END`;
export const PROFILE_GUARD = `CASE WHEN c.id IS NOT NULL THEN 'c:' || c.id ELSE 'p:' || p.id END`;

/**
 * Locks the guards of some identifiers as the statement finds them, so that the read sent right
 * behind it usually finds every guard already held: one round trip for the common case.
 */
export const LOCK_IDENTIFIER_GUARDS: Statement = {
  name: 'kith_lock_identifier_guards',
  text: `
    WITH g AS (
      SELECT i.key, p.id AS pid, c.id AS cid FROM identifiers i
        LEFT JOIN profiles p ON p.ws = i.ws AND p.id = i.profile
        LEFT JOIN components c ON c.ws = p.ws AND c.id = p.component
      WHERE i.ws = $1 AND i.key = ANY($2::text[])
    ), lc AS (
      SELECT id FROM components WHERE ws = $1 AND id IN (SELECT cid FROM g) ORDER BY id FOR UPDATE
    ), lp AS (
      SELECT id FROM profiles WHERE ws = $1 AND id IN (SELECT pid FROM g WHERE cid IS NULL) ORDER BY id FOR UPDATE
    ), li AS (
      SELECT key FROM identifiers WHERE ws = $1 AND key IN (SELECT key FROM g WHERE pid IS NULL) ORDER BY key FOR UPDATE
    )
    SELECT 'c:' || id AS guard FROM lc
    UNION ALL SELECT 'p:' || id FROM lp
    UNION ALL SELECT 'i:' || key FROM li`,
};

/** 'kith' in ASCII: the first half of the two-key advisory locks on workspaces. */
const WORKSPACE_LOCK_CLASS = 0x6b697468;

const ENTER_SHARED: Statement = { name: 'kith_enter_workspace', text: `SELECT pg_advisory_xact_lock_shared(${WORKSPACE_LOCK_CLASS}, hashtext($1))` };
const ENTER_EXCLUSIVE: Statement = { name: 'kith_enter_workspace_exclusive', text: `SELECT pg_advisory_xact_lock(${WORKSPACE_LOCK_CLASS}, hashtext($1))` };

export interface Query {
  readonly statement: Statement;
  readonly values: readonly unknown[];
}

/** Guard a key had when it was last read: a guard name, or `absent` (the identifier did not exist). */
type KeyGuard = string | typeof ABSENT;
const ABSENT = Symbol('absent');
/** Rows this unit of work created or rewrote itself: nobody else can see them before commit. */
const OWN = 'own';

/** The locks one transaction holds, per workspace. */
export class RowLocks {
  private readonly held = new Map<string, Set<string>>();
  private readonly keys = new Map<string, Map<string, KeyGuard>>();
  private readonly workspaces = new Map<string, 'shared' | 'exclusive'>();

  /** The statement to run before anything else in `ws` this transaction, if one is still needed. */
  enter(ws: string, mode: 'shared' | 'exclusive'): Query | undefined {
    const current = this.workspaces.get(ws);
    if (current === 'exclusive' || current === mode) return undefined;
    this.workspaces.set(ws, mode);
    return { statement: mode === 'shared' ? ENTER_SHARED : ENTER_EXCLUSIVE, values: [ws] };
  }

  /** True when the workspace is held exclusively: nobody else changes anything in it. */
  exclusive(ws: string): boolean {
    return this.workspaces.get(ws) === 'exclusive';
  }

  add(ws: string, guards: Iterable<string>): void {
    const set = this.heldIn(ws);
    for (const g of guards) set.add(g);
  }

  /** Guards among `guards` this transaction does not hold yet. */
  missing(ws: string, guards: Iterable<string>): string[] {
    if (this.exclusive(ws)) return [];
    const set = this.heldIn(ws);
    const out = new Set<string>();
    for (const g of guards) if (g !== OWN && !set.has(g)) out.add(g);
    return [...out];
  }

  /** The statement locking these guards' rows; it answers the guards it could lock. */
  lock(ws: string, guards: readonly string[]): Query {
    const byKind: Record<string, string[]> = { c: [], p: [], i: [] };
    for (const g of guards) byKind[g.slice(0, 1)]?.push(g.slice(2));
    return { statement: LOCK_ROWS, values: [ws, byKind.c, byKind.p, byKind.i] };
  }

  /** Records the guard under which an identifier was read (`undefined`: it did not exist). */
  noteKey(ws: string, key: string, guard: string | undefined): void {
    const keys = this.keysIn(ws);
    if (keys.get(key) === OWN) return;
    keys.set(key, guard ?? ABSENT);
  }

  /** Identifiers this unit of work has written: further reads need no lock. */
  noteOwn(ws: string, keys: Iterable<string>): void {
    const map = this.keysIn(ws);
    for (const k of keys) map.set(k, OWN);
  }

  /** The guard an identifier was read under, `absent`, or undefined when it was never read. */
  keyGuard(ws: string, key: string): string | 'absent' | undefined {
    const g = this.keysIn(ws).get(key);
    return g === ABSENT ? 'absent' : g;
  }

  private heldIn(ws: string): Set<string> {
    let set = this.held.get(ws);
    if (set === undefined) this.held.set(ws, (set = new Set([OWN])));
    return set;
  }

  private keysIn(ws: string): Map<string, KeyGuard> {
    let map = this.keys.get(ws);
    if (map === undefined) this.keys.set(ws, (map = new Map()));
    return map;
  }
}
