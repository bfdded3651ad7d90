import type pg from 'pg';
import type { IdentifierKey } from '../../identity/identifier.ts';
import { splitIdentifierKey } from '../../identity/identifier.ts';
import type { ChangeSet, ComponentState, EvidenceMessage, IdentifierState, ProfileId, ProfileState, WorkspaceId, WriteTx } from '../ports.ts';
import { PostgresPrivacyTx } from './postgres-erase.ts';
import { PostgresMatch } from './postgres-match.ts';
import { IDENTIFIER_GUARD, LOCK_IDENTIFIER_GUARDS, PROFILE_GUARD, RowLocks, type Query } from './postgres-locks.ts';
import {
  IDENTIFIER_COLUMNS,
  PROFILE_COLUMNS,
  jsonb,
  pgJson,
  qualified,
  selectEvidence,
  sqlState,
  text,
  toIdentifier,
  toProfile,
  type IdentifierRow,
  type ProfileRow,
  type Statement,
} from './postgres-rows.ts';

const EXISTING: Statement = {
  name: 'kith_existing_messages',
  text: 'SELECT message_id FROM messages WHERE ws = $1 AND message_id = ANY($2::text[])',
};
/** Identifiers with the guard each one is protected by (see postgres-locks.ts). */
const IDENTIFIERS: Statement = {
  name: 'kith_tx_identifiers',
  text: `
    SELECT ${qualified(IDENTIFIER_COLUMNS, 'i')}, ${IDENTIFIER_GUARD} AS guard
    FROM identifiers i
      LEFT JOIN profiles p ON p.ws = i.ws AND p.id = i.profile
      LEFT JOIN components c ON c.ws = p.ws AND c.id = p.component
    WHERE i.ws = $1 AND i.key = ANY($2::text[])`,
};
const PROFILES: Statement = {
  name: 'kith_tx_profiles',
  text: `
    SELECT ${qualified(PROFILE_COLUMNS, 'p')}, ${PROFILE_GUARD} AS guard
    FROM profiles p LEFT JOIN components c ON c.ws = p.ws AND c.id = p.component
    WHERE p.ws = $1 AND p.id = ANY($2::text[])`,
};
const COMPONENTS: Statement = {
  name: 'kith_tx_components',
  text: 'SELECT id, max_t, max_m FROM components WHERE ws = $1 AND id = ANY($2::text[])',
};
/** The profiles of some components and their identifiers, each with its guard, in one round trip. */
const COMPONENT_MEMBERS: Statement = {
  name: 'kith_tx_component_members',
  text: `
    WITH p AS (
      SELECT ${qualified(PROFILE_COLUMNS, 'p')}, ${PROFILE_GUARD} AS guard
      FROM profiles p LEFT JOIN components c ON c.ws = p.ws AND c.id = p.component
      WHERE p.ws = $1 AND p.component = ANY($2::text[])
    )
    SELECT
      (SELECT coalesce(json_agg(p), '[]'::json) FROM p) AS profiles,
      (SELECT coalesce(json_agg(x), '[]'::json) FROM (
        SELECT ${qualified(IDENTIFIER_COLUMNS, 'i')}, p.guard
        FROM identifiers i JOIN p ON i.profile = p.id WHERE i.ws = $1) x) AS identifiers`,
};

/** Removes identifiers from the keys and primaries of every message that carried them. */
const RETRACT: Statement = {
  name: 'kith_apply_retract',
  text: `
    WITH r AS (
      SELECT id, key FROM identifiers WHERE ws = $1 AND key = ANY($2::text[])
    ), e AS (
      DELETE FROM evidence ev USING r WHERE ev.ws = $1 AND ev.ident = r.id RETURNING ev.seq, ev.ident, r.key
    ), g AS (
      SELECT seq, array_agg(key) AS keys, array_agg(ident) AS idents FROM e GROUP BY seq
    )
    UPDATE messages m SET
      keys = m.keys - g.keys,
      primary_ident = CASE WHEN m.primary_ident = ANY(g.idents) THEN NULL ELSE m.primary_ident END
    FROM g WHERE m.ws = $1 AND m.seq = g.seq`,
};
const REPOINT_PROFILES: Statement = {
  name: 'kith_apply_repoint_profiles',
  text: `UPDATE identifiers i SET profile = r.to_id FROM unnest($2::text[], $3::text[]) AS r(from_id, to_id)
         WHERE i.ws = $1 AND i.profile = r.from_id`,
};
const REPOINT_COMPONENTS: Statement = {
  name: 'kith_apply_repoint_components',
  text: `UPDATE profiles p SET component = r.to_id FROM unnest($2::text[], $3::text[]) AS r(from_id, to_id)
         WHERE p.ws = $1 AND p.component = r.from_id`,
};
const UPSERT_IDENTIFIERS: Statement = {
  name: 'kith_apply_identifiers',
  text: `
    INSERT INTO identifiers (ws, key, type, profile, quarantined, peers)
    SELECT $1, u.key, u.type, u.profile, u.quarantined, u.peers
    FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[], $6::jsonb[])
      AS u(key, type, profile, quarantined, peers)
    ON CONFLICT (ws, key) DO UPDATE SET profile = excluded.profile, quarantined = excluded.quarantined, peers = excluded.peers
    RETURNING key, (xmax = 0) AS inserted`,
};
/**
 * New messages and their evidence rows in one statement. Answers the identifiers it could not find
 * (a caller's bug: every key must be stored before the message that carries it).
 */
const INSERT_MESSAGES: Statement = {
  name: 'kith_apply_messages',
  text: `
    WITH u AS (
      SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[], $8::jsonb[], $9::text[], $10::json[])
        WITH ORDINALITY AS u(message_id, type, event, t, received_at, source, keys, primary_key, body, ord)
    ), m AS (
      INSERT INTO messages (ws, message_id, type, event, t, received_at, source, keys, primary_ident, body)
      SELECT $1, u.message_id, u.type, u.event, u.t, u.received_at, u.source, u.keys,
        (SELECT i.id FROM identifiers i WHERE i.ws = $1 AND i.key = u.primary_key), u.body
      FROM u ORDER BY u.ord
      RETURNING seq, message_id, keys
    ), k AS (
      SELECT m.seq, m.message_id, x.key, i.id AS ident
      FROM m CROSS JOIN LATERAL jsonb_array_elements_text(m.keys) AS x(key)
      LEFT JOIN identifiers i ON i.ws = $1 AND i.key = x.key
    ), ev AS (
      INSERT INTO evidence (ws, ident, seq) SELECT DISTINCT $1, k.ident, k.seq FROM k WHERE k.ident IS NOT NULL
      ON CONFLICT DO NOTHING
    )
    SELECT k.message_id, k.key FROM k WHERE k.ident IS NULL
    UNION ALL
    SELECT u.message_id, u.primary_key FROM u
    WHERE u.primary_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.ws = $1 AND i.key = u.primary_key)`,
};
const SET_PRIMARIES: Statement = {
  name: 'kith_apply_primaries',
  text: `
    UPDATE messages m SET primary_ident = i.id
    FROM unnest($2::text[], $3::text[]) AS u(message_id, primary_key)
      LEFT JOIN identifiers i ON i.ws = $1 AND i.key = u.primary_key
    WHERE m.ws = $1 AND m.message_id = u.message_id
    RETURNING m.message_id, u.primary_key, (u.primary_key IS NOT NULL AND i.id IS NULL) AS missing`,
};
/** Identifiers (with their evidence rows), profiles and components the change set deletes. */
const DELETE: Statement = {
  name: 'kith_apply_delete',
  text: `
    WITH di AS (
      DELETE FROM identifiers WHERE ws = $1 AND key = ANY($2::text[]) RETURNING id
    ), de AS (
      DELETE FROM evidence WHERE ws = $1 AND ident IN (SELECT id FROM di)
    ), dp AS (
      DELETE FROM profiles WHERE ws = $1 AND id = ANY($3::text[])
    )
    DELETE FROM components WHERE ws = $1 AND id = ANY($4::text[])`,
};
/**
 * The rest of a change set, which touches disjoint rows and so can be one statement: profiles
 * (and the redirects of the ids they bring back to life), components, history with its index,
 * redirects of ids that are not live, and rejected messages. Rows keep their order in the change
 * set, so history and rejected sequence numbers follow it.
 */
const TAIL: Statement = {
  name: 'kith_apply_tail',
  text: `
    WITH p AS (
      INSERT INTO profiles (ws, id, component, founder, founder_t, founder_m, founder_pos, traits, counts, first_t, last_t, consent)
      SELECT $1, u.id, u.component, u.founder, u.founder_t, u.founder_m, u.founder_pos, u.traits, u.counts, u.first_t, u.last_t, u.consent
      FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::int4[], $8::jsonb[], $9::jsonb[], $10::int8[], $11::int8[], $31::jsonb[])
        AS u(id, component, founder, founder_t, founder_m, founder_pos, traits, counts, first_t, last_t, consent)
      ON CONFLICT (ws, id) DO UPDATE SET component = excluded.component, founder = excluded.founder,
        founder_t = excluded.founder_t, founder_m = excluded.founder_m, founder_pos = excluded.founder_pos,
        traits = excluded.traits, counts = excluded.counts, first_t = excluded.first_t, last_t = excluded.last_t,
        consent = excluded.consent
      RETURNING id
    ), revived AS (
      DELETE FROM redirects r WHERE r.ws = $1 AND r.from_id IN (SELECT id FROM p)
    ), c AS (
      INSERT INTO components (ws, id, max_t, max_m)
      SELECT $1, u.id, u.max_t, u.max_m FROM unnest($12::text[], $13::int8[], $14::text[]) AS u(id, max_t, max_m)
      ON CONFLICT (ws, id) DO UPDATE SET max_t = excluded.max_t, max_m = excluded.max_m
    ), h AS (
      INSERT INTO history (ws, kind, profile, related, at, message_id, detail)
      SELECT $1, u.kind, u.profile, u.related, u.at, u.message_id, u.detail
      FROM unnest($15::text[], $16::text[], $17::jsonb[], $18::int8[], $19::text[], $20::jsonb[])
        WITH ORDINALITY AS u(kind, profile, related, at, message_id, detail, ord)
      ORDER BY u.ord
      RETURNING seq, profile, related
    ), hp AS (
      INSERT INTO history_profiles (ws, profile, seq)
      SELECT DISTINCT $1, x.profile, h.seq
      FROM h CROSS JOIN LATERAL (SELECT h.profile UNION ALL SELECT jsonb_array_elements_text(h.related)) AS x(profile)
      WHERE x.profile <> ''
      ON CONFLICT DO NOTHING
    ), rd AS (
      INSERT INTO redirects (ws, from_id, to_ids)
      SELECT $1, u.from_id, u.to_ids FROM unnest($21::text[], $22::jsonb[]) AS u(from_id, to_ids)
      ON CONFLICT (ws, from_id) DO UPDATE SET to_ids = excluded.to_ids
    )
    INSERT INTO rejected (ws, received_at, idx, message_id, code, reason, field, body, source)
    SELECT $1, u.received_at, u.idx, u.message_id, u.code, u.reason, u.field, u.body, u.source
    FROM unnest($23::int8[], $24::int4[], $25::text[], $26::text[], $27::text[], $28::text[], $29::text[], $30::text[])
      WITH ORDINALITY AS u(received_at, idx, message_id, code, reason, field, body, source, ord)
    ORDER BY u.ord`,
};

const SCAN_MESSAGES: Statement = {
  name: 'kith_scan_messages',
  text: 'SELECT seq, body::text AS body, keys FROM messages WHERE ws = $1 AND seq > $2 ORDER BY seq LIMIT $3',
};
/**
 * Rewriting message keys, in order: drop the messages' evidence (found through their current keys:
 * an evidence row always names an identifier its message carries), set the new keys, create the
 * identifiers not stored yet (unresolved: re-resolution assigns them), and record the new evidence.
 */
const REWRITE_DROP_EVIDENCE: Statement = {
  name: 'kith_rewrite_drop_evidence',
  text: `
    DELETE FROM evidence e
    USING messages m CROSS JOIN LATERAL jsonb_array_elements_text(m.keys) AS x(key)
      JOIN identifiers i ON i.ws = $1 AND i.key = x.key
    WHERE m.ws = $1 AND m.seq = ANY($2::int8[]) AND e.ws = $1 AND e.ident = i.id AND e.seq = m.seq`,
};
const REWRITE_SET_KEYS: Statement = {
  name: 'kith_rewrite_set_keys',
  text: `UPDATE messages m SET keys = u.keys FROM unnest($2::int8[], $3::jsonb[]) AS u(seq, keys)
         WHERE m.ws = $1 AND m.seq = u.seq`,
};
const REWRITE_PLACEHOLDERS: Statement = {
  name: 'kith_rewrite_placeholders',
  text: `
    INSERT INTO identifiers (ws, key, type, profile, quarantined, peers)
    SELECT $1, k.key, split_part(k.key, ':', 1), NULL, false, '{}'::jsonb
    FROM (SELECT DISTINCT x.key FROM unnest($2::int8[]) AS u(seq)
            JOIN messages m ON m.ws = $1 AND m.seq = u.seq
            CROSS JOIN LATERAL jsonb_array_elements_text(m.keys) AS x(key)) k
    ORDER BY k.key
    ON CONFLICT (ws, key) DO NOTHING`,
};
const REWRITE_ADD_EVIDENCE: Statement = {
  name: 'kith_rewrite_add_evidence',
  text: `
    INSERT INTO evidence (ws, ident, seq)
    SELECT DISTINCT $1, i.id, m.seq
    FROM messages m CROSS JOIN LATERAL jsonb_array_elements_text(m.keys) AS x(key)
      JOIN identifiers i ON i.ws = $1 AND i.key = x.key
    WHERE m.ws = $1 AND m.seq = ANY($2::int8[])
    ON CONFLICT DO NOTHING`,
};
const DELETE_ORPHANS: Statement = {
  name: 'kith_delete_orphans',
  text: `
    WITH d AS (
      DELETE FROM identifiers i WHERE i.ws = $1 AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.ws = $1 AND e.ident = i.id)
      RETURNING i.id
    ), dp AS (
      DELETE FROM profiles p WHERE p.ws = $1 AND EXISTS (SELECT 1 FROM d)
        AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.ws = $1 AND i.profile = p.id AND i.id NOT IN (SELECT id FROM d))
      RETURNING p.id
    ), dc AS (
      DELETE FROM components c WHERE c.ws = $1 AND EXISTS (SELECT 1 FROM d)
        AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.ws = $1 AND p.component = c.id AND p.id NOT IN (SELECT id FROM dp))
    )
    SELECT count(*) AS n FROM d`,
};
const SCAN_IDENTIFIER_KEYS: Statement = {
  name: 'kith_scan_identifier_keys',
  text: 'SELECT key FROM identifiers WHERE ws = $1 AND key > $2 ORDER BY key LIMIT $3',
};
const CLEAR_QUARANTINE: Statement = {
  name: 'kith_clear_quarantine',
  text: 'UPDATE identifiers SET quarantined = false WHERE ws = $1 AND quarantined',
};

/**
 * Error codes after which the whole unit of work may simply run again: serialization failure,
 * deadlock, unique violation (another unit of work inserted the same message id or identifier
 * first), and a conflict the store detected itself.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['40001', '40P01', '23505', 'kith_write_conflict']);

/** Another unit of work changed what this one read; running it again resolves it. */
export class WriteConflictError extends Error {
  readonly code = 'kith_write_conflict';
  constructor(message: string) {
    super(message);
    this.name = 'WriteConflictError';
  }
}

/** Lock-and-read-again rounds before a load gives up (each round means someone moved the rows). */
const MAX_LOCK_ROUNDS = 8;

type Guarded<R> = R & { guard: string };

/**
 * The write side of the PostgreSQL store: one instance per transaction attempt, on the pool client
 * that holds the transaction. Loads lock what they return (see postgres-locks.ts). Every port call
 * is one round trip in the common case: loads are single statements over `= ANY($2)`, sent in one
 * pipeline with the locks they need, and the few statements of `apply` (or `rewriteMessageKeys`)
 * are pipelined, sent together and answered together, the server running them in order.
 */
export class PostgresWriteTx implements WriteTx {
  /** The first retryable failure this attempt met, even if `fn` swallowed it. */
  retryable: unknown = undefined;
  private readonly locks = new RowLocks();
  readonly privacy = new PostgresPrivacyTx((ws, mode, queries) => this.send(ws, mode, queries));
  readonly match = new PostgresMatch((ws, queries) => this.send(ws, 'shared', queries));

  constructor(private readonly client: pg.PoolClient) {}

  async existingMessageIds(ws: WorkspaceId, messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const [result] = await this.send(ws, 'shared', [{ statement: EXISTING, values: [ws, messageIds] }]);
    return new Set((result!.rows as Array<{ message_id: string }>).map((r) => r.message_id));
  }

  async loadIdentifiers(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierState[]> {
    if (keys.length === 0) return [];
    const rows = await this.guarded(
      ws,
      { statement: IDENTIFIERS, values: [ws, keys] },
      (r) => {
        const rows = r.rows as Array<Guarded<IdentifierRow>>;
        return { value: rows, guards: rows.map((x) => x.guard) };
      },
      [{ statement: LOCK_IDENTIFIER_GUARDS, values: [ws, keys] }],
    );
    const found = new Map(rows.map((r) => [r.key, r.guard]));
    for (const key of keys) this.locks.noteKey(ws, key, found.get(key));
    return rows.map(toIdentifier);
  }

  async loadProfiles(ws: WorkspaceId, ids: readonly ProfileId[]): Promise<ProfileState[]> {
    if (ids.length === 0) return [];
    const rows = await this.guarded(ws, { statement: PROFILES, values: [ws, ids] }, (r) => {
      const rows = r.rows as Array<Guarded<ProfileRow>>;
      return { value: rows, guards: rows.map((x) => x.guard) };
    });
    return rows.map(toProfile);
  }

  async loadComponents(ws: WorkspaceId, ids: readonly string[]): Promise<ComponentState[]> {
    if (ids.length === 0) return [];
    // A component row is its own guard: lock the ones not held yet, then read.
    const missing = this.locks.missing(ws, ids.map((id) => `c:${id}`));
    const queries = missing.length > 0 ? [this.locks.lock(ws, missing)] : [];
    const results = await this.send(ws, 'shared', [...queries, { statement: COMPONENTS, values: [ws, ids] }]);
    if (missing.length > 0) this.locks.add(ws, guardsOf(results[0]!));
    const rows = results[results.length - 1]!.rows as Array<{ id: string; max_t: number; max_m: string }>;
    return rows.map((r) => ({ id: r.id, maxT: r.max_t, maxM: r.max_m }));
  }

  async loadComponentMembers(ws: WorkspaceId, componentIds: readonly string[]): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }> {
    if (componentIds.length === 0) return { profiles: [], identifiers: [] };
    // Lock the components first, so that no profile can join them between the read and the lock.
    const missing = this.locks.missing(ws, componentIds.map((id) => `c:${id}`));
    const members = await this.guarded(
      ws,
      { statement: COMPONENT_MEMBERS, values: [ws, componentIds] },
      (r) => {
        const row = r.rows[0] as { profiles: Array<Guarded<ProfileRow>>; identifiers: Array<Guarded<IdentifierRow>> } | undefined;
        const profiles = row?.profiles ?? [];
        const identifiers = row?.identifiers ?? [];
        return { value: { profiles, identifiers }, guards: [...profiles.map((p) => p.guard), ...identifiers.map((i) => i.guard)] };
      },
      missing.length > 0 ? [this.locks.lock(ws, missing)] : [],
    );
    for (const s of members.identifiers) this.locks.noteKey(ws, s.key, s.guard);
    return { profiles: members.profiles.map(toProfile), identifiers: members.identifiers.map(toIdentifier) };
  }

  async loadEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<EvidenceMessage[]> {
    if (keys.length === 0) return [];
    // Evidence of an identifier changes only under the identifier's guard: read (and so lock)
    // the identifiers this unit of work has not read yet.
    const unread = keys.filter((k) => this.locks.keyGuard(ws, k) === undefined);
    if (unread.length > 0) await this.loadIdentifiers(ws, unread);
    return this.track(selectEvidence(this.client, ws, keys));
  }

  /** Applies a change set in the order ports.ts documents, in at most eight pipelined statements. */
  async apply(ws: WorkspaceId, c: ChangeSet): Promise<void> {
    const statements: Query[] = [];
    const add = (statement: Statement, values: unknown[]): void => void statements.push({ statement, values: [ws, ...values] });

    if (c.retractions.length > 0) add(RETRACT, [c.retractions]);
    const profileMoves = composeRepoints(c.profileRepoints);
    if (profileMoves.size > 0) add(REPOINT_PROFILES, [[...profileMoves.keys()], [...profileMoves.values()]]);
    const componentMoves = composeRepoints(c.componentRepoints);
    if (componentMoves.size > 0) add(REPOINT_COMPONENTS, [[...componentMoves.keys()], [...componentMoves.values()]]);

    // One row per key: a multi-row upsert may not touch a row twice, and the last state wins.
    const identifiers = [...lastBy(c.identifiers, (s) => s.key).values()];
    if (identifiers.length > 0) {
      add(UPSERT_IDENTIFIERS, [
        identifiers.map((s) => s.key),
        identifiers.map((s) => splitIdentifierKey(s.key).type),
        identifiers.map((s) => s.profileId),
        identifiers.map((s) => s.quarantined),
        identifiers.map((s) => jsonb(s.peers)),
      ]);
    }
    const messagesAt = statements.length;
    if (c.messages.length > 0) {
      const m = c.messages;
      add(INSERT_MESSAGES, [
        m.map((x) => x.messageId),
        m.map((x) => x.type),
        m.map((x) => (x.event === null ? null : text(x.event))),
        m.map((x) => x.t),
        m.map((x) => x.receivedAt),
        m.map((x) => x.source),
        m.map((x) => jsonb(x.keys)),
        m.map((x) => x.primary),
        m.map((x) => pgJson(x.body)),
      ]);
    }
    const primariesAt = statements.length;
    const primaries = [...lastBy(c.primaries, (p) => p.messageId).values()];
    if (primaries.length > 0) add(SET_PRIMARIES, [primaries.map((p) => p.messageId), primaries.map((p) => p.primary)]);
    if (c.deletedIdentifiers.length > 0 || c.deletedProfiles.length > 0 || c.deletedComponents.length > 0) {
      add(DELETE, [c.deletedIdentifiers, c.deletedProfiles, c.deletedComponents]);
    }

    const profiles = [...lastBy(c.profiles, (p) => p.id).values()];
    const components = [...lastBy(c.components, (x) => x.id).values()];
    const live = new Set<string>(profiles.map((p) => p.id));
    const redirects = [...lastBy(c.redirects.filter((r) => !live.has(r.from)), (r) => r.from).values()];
    if (profiles.length + components.length + c.history.length + redirects.length + c.rejected.length > 0) {
      add(TAIL, [
        profiles.map((p) => p.id),
        profiles.map((p) => p.componentId),
        profiles.map((p) => p.founder),
        profiles.map((p) => p.founderT),
        profiles.map((p) => p.founderM),
        profiles.map((p) => p.founderPos),
        profiles.map((p) => jsonb(p.traits)),
        profiles.map((p) => jsonb(p.counts)),
        profiles.map((p) => p.firstT),
        profiles.map((p) => p.lastT),
        components.map((x) => x.id),
        components.map((x) => x.maxT),
        components.map((x) => x.maxM),
        c.history.map((h) => h.kind),
        c.history.map((h) => h.profileId),
        c.history.map((h) => jsonb(h.related)),
        c.history.map((h) => h.at),
        c.history.map((h) => h.messageId),
        c.history.map((h) => jsonb(h.detail)),
        redirects.map((r) => r.from),
        redirects.map((r) => jsonb(r.to)),
        c.rejected.map((r) => r.receivedAt),
        c.rejected.map((r) => r.index),
        c.rejected.map((r) => (r.messageId === null ? null : text(r.messageId))),
        c.rejected.map((r) => text(r.code)),
        c.rejected.map((r) => text(r.reason)),
        c.rejected.map((r) => (r.field === null ? null : text(r.field))),
        c.rejected.map((r) => text(r.body)),
        c.rejected.map((r) => text(r.source)),
        profiles.map((p) => jsonb(p.consent ?? {})),
      ]);
    }

    const identifiersAt = statements.findIndex((q) => q.statement === UPSERT_IDENTIFIERS);
    const results = await this.send(ws, 'shared', statements);
    if (identifiersAt >= 0) {
      for (const row of results[identifiersAt]!.rows as Array<{ key: string; inserted: boolean }>) {
        if (!row.inserted && this.locks.keyGuard(ws, row.key) === 'absent' && !this.locks.exclusive(ws)) {
          throw new WriteConflictError(`identifier ${row.key} was created by another unit of work meanwhile`);
        }
      }
      this.locks.noteOwn(ws, identifiers.map((s) => s.key));
    }
    if (c.messages.length > 0) {
      const missing = results[messagesAt]!.rows as Array<{ message_id: string; key: string }>;
      if (missing.length > 0) throw new Error(`identifier ${missing[0]!.key} of message ${missing[0]!.message_id} missing from the store`);
    }
    if (primaries.length > 0) {
      const missing = (results[primariesAt]!.rows as Array<{ primary_key: string; missing: boolean }>).find((r) => r.missing);
      if (missing !== undefined) throw new Error(`identifier ${missing.primary_key} missing from the store`);
    }
  }

  async scanMessages(ws: WorkspaceId, afterSeq: number, limit: number): Promise<Array<{ seq: number; body: string; keys: IdentifierKey[] }>> {
    const rows = await this.rows<{ seq: number; body: string; keys: IdentifierKey[] }>(ws, 'exclusive', SCAN_MESSAGES, [ws, afterSeq, limit]);
    return rows.map((r) => ({ seq: r.seq, body: r.body, keys: r.keys }));
  }

  async rewriteMessageKeys(ws: WorkspaceId, rows: ReadonlyArray<{ seq: number; keys: readonly IdentifierKey[] }>): Promise<void> {
    if (rows.length === 0) return;
    const seqs = rows.map((r) => r.seq);
    await this.send(ws, 'exclusive', [
      { statement: REWRITE_DROP_EVIDENCE, values: [ws, seqs] },
      { statement: REWRITE_SET_KEYS, values: [ws, seqs, rows.map((r) => jsonb(r.keys))] },
      { statement: REWRITE_PLACEHOLDERS, values: [ws, seqs] },
      { statement: REWRITE_ADD_EVIDENCE, values: [ws, seqs] },
    ]);
  }

  async deleteOrphanIdentifiers(ws: WorkspaceId): Promise<number> {
    const [row] = await this.rows<{ n: number }>(ws, 'exclusive', DELETE_ORPHANS, [ws]);
    return row?.n ?? 0;
  }

  async scanIdentifierKeys(ws: WorkspaceId, afterKey: string | null, limit: number): Promise<IdentifierKey[]> {
    return (await this.rows<{ key: IdentifierKey }>(ws, 'shared', SCAN_IDENTIFIER_KEYS, [ws, afterKey ?? '', limit])).map((r) => r.key);
  }

  async clearQuarantine(ws: WorkspaceId): Promise<void> {
    await this.rows(ws, 'exclusive', CLEAR_QUARANTINE, [ws]);
  }

  private async rows<R extends pg.QueryResultRow>(ws: WorkspaceId, mode: 'shared' | 'exclusive', statement: Statement, values: unknown[]): Promise<R[]> {
    const [result] = await this.send(ws, mode, [{ statement, values }]);
    return result!.rows as R[];
  }

  /**
   * Runs `read` with every row it returns under a lock this transaction holds: sends `before` (locks
   * likely needed) and `read` in one pipeline, then, while the rows name guards not held yet, locks
   * them and reads again (the rows may have moved while this transaction waited).
   */
  private async guarded<T>(
    ws: WorkspaceId,
    read: Query,
    parse: (result: pg.QueryResult) => { value: T; guards: readonly string[] },
    before: readonly Query[] = [],
  ): Promise<T> {
    let results = await this.send(ws, 'shared', [...before, read]);
    for (const r of results.slice(0, before.length)) this.locks.add(ws, guardsOf(r));
    for (let round = 1; ; round++) {
      const { value, guards } = parse(results[results.length - 1]!);
      const missing = this.locks.missing(ws, guards);
      if (missing.length === 0) return value;
      if (round >= MAX_LOCK_ROUNDS) throw new WriteConflictError(`rows kept moving while being locked (${missing.slice(0, 3).join(', ')})`);
      results = await this.send(ws, 'shared', [this.locks.lock(ws, missing), read]);
      this.locks.add(ws, guardsOf(results[0]!));
    }
  }

  /** Pipelines `queries` in `ws`, preceded by the workspace lock the first time (its result dropped). */
  private async send(ws: WorkspaceId, mode: 'shared' | 'exclusive', queries: readonly Query[]): Promise<pg.QueryResult[]> {
    const entry = this.locks.enter(ws, mode);
    const results = await this.pipeline(entry === undefined ? queries : [entry, ...queries]);
    return entry === undefined ? results : results.slice(1);
  }

  /**
   * Sends the statements together (the pool's clients run in pipeline mode) and waits for every
   * answer. The server runs them in order; once one fails the rest fail as "transaction aborted",
   * so the first failure is the one reported.
   */
  private async pipeline(statements: readonly Query[]): Promise<pg.QueryResult[]> {
    const settled = await Promise.allSettled(statements.map((s) => this.track(this.client.query({ ...s.statement, values: [...s.values] }))));
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<pg.QueryResult>).value);
  }

  /** Notes retryable failures, so the store runs the unit of work again even if `fn` caught them. */
  private async track<T>(query: Promise<T>): Promise<T> {
    try {
      return await query;
    } catch (err) {
      const state = sqlState(err);
      if (this.retryable === undefined && state !== undefined && RETRYABLE_CODES.has(state)) this.retryable = err;
      throw err;
    }
  }
}

/**
 * The net effect of sequential `UPDATE ... SET x = to WHERE x = from` statements, as one mapping
 * from each original value to its final value (values that end where they started are left out),
 * so the store can apply them all in one statement. Folded from the last repoint backwards.
 */
export function composeRepoints<T extends string>(repoints: ReadonlyArray<{ from: T; to: T }>): Map<T, T> {
  const net = new Map<T, T>();
  for (let i = repoints.length - 1; i >= 0; i--) {
    const { from, to } = repoints[i]!;
    net.set(from, net.get(to) ?? to);
  }
  for (const [from, to] of net) if (from === to) net.delete(from);
  return net;
}

function guardsOf(result: pg.QueryResult): string[] {
  return (result.rows as Array<{ guard: string }>).map((r) => r.guard);
}

/** The last element for each key, in first-seen key order. */
function lastBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T> {
  const out = new Map<string, T>();
  for (const item of items) out.set(keyOf(item), item);
  return out;
}
