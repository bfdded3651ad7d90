import type Database from 'better-sqlite3';
import type { IdentifierKey } from '../../identity/identifier.ts';
import { splitIdentifierKey } from '../../identity/identifier.ts';
import type {
  ChangeSet,
  ComponentState,
  EvidenceMessage,
  IdentifierState,
  ProfileId,
  ProfileState,
  WorkspaceId,
  WriteTx,
} from '../ports.ts';
import {
  EVIDENCE_COLUMNS,
  IDENTIFIER_COLUMNS,
  PROFILE_COLUMNS,
  toEvidence,
  toIdentifier,
  toProfile,
  type EvidenceRow,
  type IdentifierRow,
  type ProfileRow,
} from './sqlite-rows.ts';
import { SqlitePrivacyTx } from './sqlite-erase.ts';
import { SqliteMatch } from './sqlite-match.ts';

/**
 * The write side of the SQLite store. Lists are passed as one JSON array parameter and expanded
 * with `json_each`, so each load is one statement whatever the batch size.
 */
export class SqliteWriteTx implements WriteTx {
  private readonly s;
  /** Row ids of identifiers seen in this transaction (`ws\0key`), so evidence rows need no lookup. */
  private readonly rowIds = new Map<string, number>();
  readonly privacy: SqlitePrivacyTx;
  readonly match: SqliteMatch;

  constructor(private readonly db: Database.Database) {
    this.privacy = new SqlitePrivacyTx(db);
    this.match = new SqliteMatch(db);
    this.s = {
      existing: db.prepare<[string, string], { message_id: string }>(
        'SELECT message_id FROM messages WHERE ws = ? AND message_id IN (SELECT value FROM json_each(?))',
      ),
      identifiers: db.prepare<[string, string], IdentifierRow>(
        `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = ? AND key IN (SELECT value FROM json_each(?))`,
      ),
      profiles: db.prepare<[string, string], ProfileRow>(
        `SELECT ${PROFILE_COLUMNS} FROM profiles WHERE ws = ? AND id IN (SELECT value FROM json_each(?))`,
      ),
      components: db.prepare<[string, string], { id: string; max_t: number; max_m: string }>(
        'SELECT id, max_t, max_m FROM components WHERE ws = ? AND id IN (SELECT value FROM json_each(?))',
      ),
      componentProfiles: db.prepare<[string, string], ProfileRow>(
        `SELECT ${PROFILE_COLUMNS} FROM profiles INDEXED BY profiles_component WHERE ws = ? AND component IN (SELECT value FROM json_each(?))`,
      ),
      profileIdentifiers: db.prepare<[string, string], IdentifierRow>(
        `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = ? AND profile IN (SELECT value FROM json_each(?))`,
      ),
      evidence: db.prepare<[string, string], EvidenceRow>(
        `SELECT DISTINCT ${EVIDENCE_COLUMNS} FROM identifiers i
           JOIN evidence e ON e.ident = i.id
           JOIN messages m ON m.seq = e.seq
         WHERE i.ws = ? AND i.key IN (SELECT value FROM json_each(?))`,
      ),
      upsertIdentifier: db.prepare(
        `INSERT INTO identifiers (ws, key, type, profile, quarantined, peers)
         VALUES (@ws, @key, @type, @profile, @quarantined, @peers)
         ON CONFLICT (ws, key) DO UPDATE SET profile = excluded.profile, quarantined = excluded.quarantined, peers = excluded.peers
         RETURNING id`,
      ),
      identifierId: db.prepare<[string, string], { id: number }>('SELECT id FROM identifiers WHERE ws = ? AND key = ?'),
      insertMessage: db.prepare(
        `INSERT INTO messages (ws, message_id, type, event, t, received_at, source, keys, primary_ident, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertEvidence: db.prepare('INSERT OR IGNORE INTO evidence (ident, seq) VALUES (?, ?)'),
      setPrimary: db.prepare('UPDATE messages SET primary_ident = ? WHERE ws = ? AND message_id = ?'),
      repointProfile: db.prepare('UPDATE identifiers SET profile = ? WHERE ws = ? AND profile = ?'),
      // Written as a subquery: on this WITHOUT ROWID table SQLite would otherwise scan the whole
      // workspace instead of using profiles_component for a column the statement updates.
      repointComponent: db.prepare(
        'UPDATE profiles SET component = @to WHERE ws = @ws AND id IN (SELECT id FROM profiles WHERE ws = @ws AND component = @from)',
      ),
      deleteIdentifier: db.prepare('DELETE FROM identifiers WHERE ws = ? AND key = ?'),
      retractedMessages: db.prepare<[number], { seq: number; keys: string; primary_ident: number | null }>(
        'SELECT m.seq, m.keys, m.primary_ident FROM evidence e JOIN messages m ON m.seq = e.seq WHERE e.ident = ?',
      ),
      rewriteKeys: db.prepare('UPDATE messages SET keys = ?, primary_ident = ? WHERE seq = ?'),
      deleteEvidence: db.prepare('DELETE FROM evidence WHERE ident = ?'),
      upsertProfile: db.prepare(
        `INSERT INTO profiles (ws, id, component, founder, founder_t, founder_m, founder_pos, traits, counts, first_t, last_t, consent)
         VALUES (@ws, @id, @component, @founder, @founder_t, @founder_m, @founder_pos, @traits, @counts, @first_t, @last_t, @consent)
         ON CONFLICT (ws, id) DO UPDATE SET component = excluded.component, founder = excluded.founder,
           founder_t = excluded.founder_t, founder_m = excluded.founder_m, founder_pos = excluded.founder_pos,
           traits = excluded.traits, counts = excluded.counts, first_t = excluded.first_t, last_t = excluded.last_t,
           consent = excluded.consent`,
      ),
      deleteProfile: db.prepare('DELETE FROM profiles WHERE ws = ? AND id = ?'),
      upsertComponent: db.prepare(
        `INSERT INTO components (ws, id, max_t, max_m) VALUES (?, ?, ?, ?)
         ON CONFLICT (ws, id) DO UPDATE SET max_t = excluded.max_t, max_m = excluded.max_m`,
      ),
      deleteComponent: db.prepare('DELETE FROM components WHERE ws = ? AND id = ?'),
      insertHistory: db.prepare(
        'INSERT INTO history (ws, kind, profile, related, at, message_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      insertHistoryProfile: db.prepare('INSERT OR IGNORE INTO history_profiles (ws, profile, seq) VALUES (?, ?, ?)'),
      upsertRedirect: db.prepare(
        'INSERT INTO redirects (ws, from_id, to_ids) VALUES (?, ?, ?) ON CONFLICT (ws, from_id) DO UPDATE SET to_ids = excluded.to_ids',
      ),
      deleteRedirect: db.prepare('DELETE FROM redirects WHERE ws = ? AND from_id = ?'),
      scanMessages: db.prepare<[string, number, number], { seq: number; body: string; keys: string }>(
        'SELECT seq, body, keys FROM messages WHERE ws = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      setKeys: db.prepare('UPDATE messages SET keys = ? WHERE seq = ?'),
      deleteMessageEvidence: db.prepare('DELETE FROM evidence WHERE seq = ?'),
      insertPlaceholder: db.prepare(
        `INSERT OR IGNORE INTO identifiers (ws, key, type, profile, quarantined, peers) VALUES (?, ?, ?, NULL, 0, '{}')`,
      ),
      deleteOrphans: db.prepare(
        'DELETE FROM identifiers WHERE ws = ? AND NOT EXISTS (SELECT 1 FROM evidence e WHERE e.ident = identifiers.id)',
      ),
      deleteEmptyProfiles: db.prepare(
        'DELETE FROM profiles WHERE ws = ? AND NOT EXISTS (SELECT 1 FROM identifiers i WHERE i.ws = profiles.ws AND i.profile = profiles.id)',
      ),
      deleteEmptyComponents: db.prepare(
        'DELETE FROM components WHERE ws = ? AND NOT EXISTS (SELECT 1 FROM profiles p WHERE p.ws = components.ws AND p.component = components.id)',
      ),
      scanIdentifierKeys: db.prepare<[string, string, number], { key: string }>('SELECT key FROM identifiers WHERE ws = ? AND key > ? ORDER BY key LIMIT ?'),
      clearQuarantine: db.prepare('UPDATE identifiers SET quarantined = 0 WHERE ws = ? AND quarantined = 1'),
      insertRejected: db.prepare(
        'INSERT INTO rejected (ws, received_at, idx, message_id, code, reason, field, body, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
    };
  }

  /** Called by the store as each transaction begins: row ids are only known to be valid within one. */
  begin(): void {
    this.rowIds.clear();
  }

  private remember(ws: WorkspaceId, rows: readonly IdentifierRow[]): void {
    for (const r of rows) this.rowIds.set(`${ws}\0${r.key}`, r.id);
  }

  async existingMessageIds(ws: WorkspaceId, messageIds: readonly string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    return new Set(this.s.existing.all(ws, JSON.stringify(messageIds)).map((r) => r.message_id));
  }

  async loadIdentifiers(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierState[]> {
    if (keys.length === 0) return [];
    const rows = this.s.identifiers.all(ws, JSON.stringify(keys));
    this.remember(ws, rows);
    return rows.map(toIdentifier);
  }

  async loadProfiles(ws: WorkspaceId, ids: readonly ProfileId[]): Promise<ProfileState[]> {
    if (ids.length === 0) return [];
    return this.s.profiles.all(ws, JSON.stringify(ids)).map(toProfile);
  }

  async loadComponents(ws: WorkspaceId, ids: readonly string[]): Promise<ComponentState[]> {
    if (ids.length === 0) return [];
    return this.s.components.all(ws, JSON.stringify(ids)).map((r) => ({ id: r.id, maxT: r.max_t, maxM: r.max_m }));
  }

  async loadComponentMembers(ws: WorkspaceId, componentIds: readonly string[]): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }> {
    return loadComponentMembers(this.s, ws, componentIds);
  }

  async loadEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<EvidenceMessage[]> {
    if (keys.length === 0) return [];
    return this.s.evidence.all(ws, JSON.stringify(keys)).map(toEvidence);
  }

  async apply(ws: WorkspaceId, c: ChangeSet): Promise<void> {
    const s = this.s;
    const ids = this.rowIds;
    const idOf = (key: IdentifierKey): number => {
      let id = ids.get(`${ws}\0${key}`);
      if (id === undefined) {
        const row = s.identifierId.get(ws, key);
        if (row === undefined) throw new Error(`identifier ${key} missing from the store`);
        id = row.id;
        ids.set(`${ws}\0${key}`, id);
      }
      return id;
    };

    for (const key of c.retractions) this.retract(ws, key);
    for (const r of c.profileRepoints) {
      s.repointProfile.run(r.to, ws, r.from);
    }
    for (const r of c.componentRepoints) {
      s.repointComponent.run({ to: r.to, ws, from: r.from });
    }
    for (const st of c.identifiers) {
      const row = s.upsertIdentifier.get({
        ws,
        key: st.key,
        type: splitIdentifierKey(st.key).type,
        profile: st.profileId,
        quarantined: st.quarantined ? 1 : 0,
        peers: JSON.stringify(st.peers),
      }) as { id: number };
      ids.set(`${ws}\0${st.key}`, row.id);
    }
    for (const m of c.messages) {
      const info = s.insertMessage.run(
        ws,
        m.messageId,
        m.type,
        m.event,
        m.t,
        m.receivedAt,
        m.source,
        JSON.stringify(m.keys),
        m.primary === null ? null : idOf(m.primary),
        m.body,
      );
      const seq = Number(info.lastInsertRowid);
      for (const key of m.keys) s.insertEvidence.run(idOf(key), seq);
    }
    for (const p of c.primaries) s.setPrimary.run(p.primary === null ? null : idOf(p.primary), ws, p.messageId);
    for (const key of c.deletedIdentifiers) {
      s.deleteIdentifier.run(ws, key);
      ids.delete(`${ws}\0${key}`);
    }
    for (const id of c.deletedProfiles) {
      s.deleteProfile.run(ws, id);
    }
    for (const p of c.profiles) {
      s.upsertProfile.run({
        ws,
        id: p.id,
        component: p.componentId,
        founder: p.founder,
        founder_t: p.founderT,
        founder_m: p.founderM,
        founder_pos: p.founderPos,
        traits: JSON.stringify(p.traits),
        counts: JSON.stringify(p.counts),
        first_t: p.firstT,
        last_t: p.lastT,
        consent: JSON.stringify(p.consent ?? {}),
      });
      s.deleteRedirect.run(ws, p.id);
    }
    for (const id of c.deletedComponents) {
      s.deleteComponent.run(ws, id);
    }
    for (const comp of c.components) {
      s.upsertComponent.run(ws, comp.id, comp.maxT, comp.maxM);
    }
    for (const h of c.history) {
      const seq = Number(
        s.insertHistory.run(ws, h.kind, h.profileId, JSON.stringify(h.related), h.at, h.messageId, JSON.stringify(h.detail)).lastInsertRowid,
      );
      for (const p of [h.profileId, ...h.related]) if (p !== '') s.insertHistoryProfile.run(ws, p, seq);
    }
    const live = new Set(c.profiles.map((p) => p.id));
    for (const r of c.redirects) if (!live.has(r.from)) s.upsertRedirect.run(ws, r.from, JSON.stringify(r.to));
    for (const r of c.rejected) {
      s.insertRejected.run(ws, r.receivedAt, r.index, r.messageId, r.code, r.reason, r.field, r.body, r.source);
    }
  }

  async scanMessages(ws: WorkspaceId, afterSeq: number, limit: number): Promise<Array<{ seq: number; body: string; keys: IdentifierKey[] }>> {
    return this.s.scanMessages.all(ws, afterSeq, limit).map((r) => ({ seq: r.seq, body: r.body, keys: JSON.parse(r.keys) as IdentifierKey[] }));
  }

  async rewriteMessageKeys(ws: WorkspaceId, rows: ReadonlyArray<{ seq: number; keys: readonly IdentifierKey[] }>): Promise<void> {
    for (const row of rows) {
      this.s.setKeys.run(JSON.stringify(row.keys), row.seq);
      this.s.deleteMessageEvidence.run(row.seq);
      for (const key of row.keys) {
        this.s.insertPlaceholder.run(ws, key, splitIdentifierKey(key).type);
        const id = this.s.identifierId.get(ws, key)!.id;
        this.s.insertEvidence.run(id, row.seq);
      }
    }
  }

  async deleteOrphanIdentifiers(ws: WorkspaceId): Promise<number> {
    const deleted = this.s.deleteOrphans.run(ws).changes;
    this.rowIds.clear();
    if (deleted > 0) {
      this.s.deleteEmptyProfiles.run(ws);
      this.s.deleteEmptyComponents.run(ws);
    }
    return deleted;
  }

  async scanIdentifierKeys(ws: WorkspaceId, afterKey: string | null, limit: number): Promise<IdentifierKey[]> {
    return this.s.scanIdentifierKeys.all(ws, afterKey ?? '', limit).map((r) => r.key as IdentifierKey);
  }

  async clearQuarantine(ws: WorkspaceId): Promise<void> {
    this.s.clearQuarantine.run(ws);
  }

  /** Removes an identifier from the evidence of every message that carried it. */
  private retract(ws: WorkspaceId, key: IdentifierKey): void {
    const row = this.s.identifierId.get(ws, key);
    if (row === undefined) return;
    for (const m of this.s.retractedMessages.all(row.id)) {
      const keys = (JSON.parse(m.keys) as string[]).filter((k) => k !== key);
      this.s.rewriteKeys.run(JSON.stringify(keys), m.primary_ident === row.id ? null : m.primary_ident, m.seq);
    }
    this.s.deleteEvidence.run(row.id);
  }
}

type MemberStatements = {
  componentProfiles: Database.Statement<[string, string], ProfileRow>;
  profileIdentifiers: Database.Statement<[string, string], IdentifierRow>;
};

/** Shared by the write and read sides: the profiles of some components and all their identifiers. */
export function loadComponentMembers(
  s: MemberStatements,
  ws: WorkspaceId,
  componentIds: readonly string[],
): { profiles: ProfileState[]; identifiers: IdentifierState[] } {
  if (componentIds.length === 0) return { profiles: [], identifiers: [] };
  const profiles = s.componentProfiles.all(ws, JSON.stringify(componentIds)).map(toProfile);
  if (profiles.length === 0) return { profiles, identifiers: [] };
  const identifiers = s.profileIdentifiers.all(ws, JSON.stringify(profiles.map((p) => p.id))).map(toIdentifier);
  return { profiles, identifiers };
}
