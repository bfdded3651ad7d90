import { toRejected, type RejectedRow } from '../rejected-row.ts';
import type Database from 'better-sqlite3';
import { SqliteMatch } from './sqlite-match.ts';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonObject } from '../../spec/segment-message.ts';
import type { EventPage, EvidenceMessage, FirstEvidence, HistoryKind, HistoryRecord, IdentifierState, ProfileId, ProfileState, ReadPort, RejectedRecord, WorkspaceId } from '../ports.ts';
import { EVIDENCE_COLUMNS, IDENTIFIER_COLUMNS, PROFILE_COLUMNS, toEvidence, toIdentifier, toProfile, type EvidenceRow, type IdentifierRow, type ProfileRow } from './sqlite-rows.ts';
import { loadComponentMembers } from './sqlite-write-tx.ts';
import { decodeCursor, eventPage, type EventRow } from '../event-cursor.ts';
import { sqliteProfileScan } from './sqlite-export.ts';
import { messagesCarrying } from './sqlite-erase.ts';
import type { StoredMessage } from '../ports.ts';

/** Read-only queries on their own connection: they see the last committed transaction. */
export class SqliteRead implements ReadPort {
  private readonly s;
  readonly match: SqliteMatch;
  private readonly carrying;
  private readonly profileScan;

  constructor(db: Database.Database) {
    this.match = new SqliteMatch(db);
    this.carrying = messagesCarrying(db);
    this.profileScan = sqliteProfileScan(db);
    this.s = {
      identifier: db.prepare<[string, string], IdentifierRow>(`SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = ? AND key = ?`),
      identifiers: db.prepare<[string, string], IdentifierRow>(
        `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = ? AND key IN (SELECT value FROM json_each(?))`,
      ),
      identifierProfiles: db.prepare<[string, string], { key: string; profile: string | null; quarantined: number }>(
        'SELECT key, profile, quarantined FROM identifiers WHERE ws = ? AND key IN (SELECT value FROM json_each(?))',
      ),
      profile: db.prepare<[string, string], ProfileRow>(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE ws = ? AND id = ?`),
      redirect: db.prepare<[string, string], { to_ids: string }>('SELECT to_ids FROM redirects WHERE ws = ? AND from_id = ?'),
      profileIdentifiers: db.prepare<[string, string], IdentifierRow>(
        `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = ? AND profile IN (SELECT value FROM json_each(?))`,
      ),
      // Per identifier, its earliest message by (event time, message id) among its evidence rows:
      // the cost is the identifier's evidence, read when a profile is displayed, never on ingest.
      firstEvidence: db.prepare<[string, string], { key: string; t: number; message_id: string; source: string }>(
        `SELECT i.key, m.t, m.message_id, m.source FROM identifiers i CROSS JOIN messages m
         WHERE i.ws = ? AND i.key IN (SELECT value FROM json_each(?))
           AND m.seq = (SELECT e.seq FROM evidence e JOIN messages x ON x.seq = e.seq WHERE e.ident = i.id ORDER BY x.t, x.message_id LIMIT 1)`,
      ),
      componentProfiles: db.prepare<[string, string], ProfileRow>(
        `SELECT ${PROFILE_COLUMNS} FROM profiles INDEXED BY profiles_component WHERE ws = ? AND component IN (SELECT value FROM json_each(?))`,
      ),
      events: db.prepare<[string, string, number, number, number, string, number], EventRow<string>>(
        // A message belongs to the timeline of its primary identifier's profile; it is found
        // through that identifier's evidence row, sorted here (there is no per-profile index).
        `SELECT message_id, type, event, t, received_at, source, body FROM messages WHERE seq IN (
           SELECT m.seq FROM identifiers i INDEXED BY identifiers_profile CROSS JOIN evidence e CROSS JOIN messages m
           WHERE i.ws = ? AND i.profile = ? AND e.ident = i.id AND m.seq = e.seq AND m.primary_ident = i.id
             AND (m.t < ? OR (m.t = ? AND ? AND m.message_id < ?))
           ORDER BY m.t DESC, m.message_id DESC LIMIT ?)
         ORDER BY t DESC, message_id DESC`,
      ),
      history: db.prepare<[string, string], { seq: number; kind: string; profile: string; related: string; at: number; message_id: string | null; detail: string }>(
        `SELECT h.seq, h.kind, h.profile, h.related, h.at, h.message_id, h.detail FROM history h
         WHERE h.ws = ? AND h.seq IN (SELECT seq FROM history_profiles WHERE ws = h.ws AND profile IN (SELECT value FROM json_each(?)))
         ORDER BY h.seq`,
      ),
      rejected: db.prepare<[string, number, number], RejectedRow>(
        'SELECT seq, received_at, idx, message_id, code, reason, field, body, source FROM rejected WHERE ws = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      evidence: db.prepare<[string, string], EvidenceRow>(
        `SELECT DISTINCT ${EVIDENCE_COLUMNS} FROM identifiers i JOIN evidence e ON e.ident = i.id JOIN messages m ON m.seq = e.seq
         WHERE i.ws = ? AND i.key IN (SELECT value FROM json_each(?))`,
      ),
      countMessages: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM messages WHERE ws = ?'),
      countProfiles: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM profiles WHERE ws = ?'),
      countIdentifiers: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM identifiers WHERE ws = ?'),
      countRejected: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM rejected WHERE ws = ?'),
    };
  }

  async findIdentifier(ws: WorkspaceId, key: IdentifierKey): Promise<IdentifierState | undefined> {
    const row = this.s.identifier.get(ws, key);
    return row === undefined ? undefined : toIdentifier(row);
  }

  async loadIdentifiers(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierState[]> {
    if (keys.length === 0) return [];
    return this.s.identifiers.all(ws, JSON.stringify(keys)).map(toIdentifier);
  }

  async identifierProfiles(ws: WorkspaceId, keys: readonly IdentifierKey[], meanwhile?: () => void): Promise<Map<IdentifierKey, ProfileId | null>> {
    const found = new Map<IdentifierKey, ProfileId | null>();
    let start = meanwhile;
    if (keys.length > 0) {
      // A statement reads one snapshot, fixed by its first step and held until its last row: what
      // `meanwhile` commits after that first step is not seen by the rows still to come.
      for (const row of this.s.identifierProfiles.iterate(ws, JSON.stringify(keys))) {
        found.set(row.key as IdentifierKey, row.quarantined === 1 ? null : (row.profile as ProfileId | null));
        if (start !== undefined) {
          const run = start;
          start = undefined;
          run();
        }
      }
    }
    start?.();
    return found;
  }

  async loadProfile(ws: WorkspaceId, id: ProfileId): Promise<ProfileState | undefined> {
    const row = this.s.profile.get(ws, id);
    return row === undefined ? undefined : toProfile(row);
  }

  async redirectOf(ws: WorkspaceId, id: ProfileId): Promise<readonly ProfileId[] | undefined> {
    const row = this.s.redirect.get(ws, id);
    return row === undefined ? undefined : (JSON.parse(row.to_ids) as ProfileId[]);
  }

  async identifiersOf(ws: WorkspaceId, id: ProfileId): Promise<IdentifierState[]> {
    return this.s.profileIdentifiers.all(ws, JSON.stringify([id])).map(toIdentifier);
  }

  async firstEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<Map<IdentifierKey, FirstEvidence>> {
    const found = new Map<IdentifierKey, FirstEvidence>();
    if (keys.length === 0) return found;
    for (const r of this.s.firstEvidence.all(ws, JSON.stringify(keys))) {
      found.set(r.key as IdentifierKey, { t: r.t, messageId: r.message_id, source: r.source });
    }
    return found;
  }

  async eventsOf(ws: WorkspaceId, id: ProfileId, opts: { limit: number; cursor: string | null }): Promise<EventPage> {
    const after = opts.cursor === null ? undefined : decodeCursor(opts.cursor);
    const t = after?.t ?? Number.MAX_SAFE_INTEGER;
    const rows = this.s.events.all(ws, id, t, t, after === undefined ? 0 : 1, after?.m ?? '', opts.limit + 1);
    return eventPage(rows, opts.limit, (text) => JSON.parse(text) as JsonObject);
  }

  async historyOf(ws: WorkspaceId, ids: readonly ProfileId[]): Promise<HistoryRecord[]> {
    return this.s.history.all(ws, JSON.stringify(ids)).map((r) => ({
      seq: r.seq,
      kind: r.kind as HistoryKind,
      profileId: r.profile as ProfileId,
      related: JSON.parse(r.related) as ProfileId[],
      at: r.at,
      messageId: r.message_id,
      detail: JSON.parse(r.detail) as JsonObject,
    }));
  }

  async listRejected(ws: WorkspaceId, opts: { limit: number; beforeSeq: number | null }): Promise<Array<RejectedRecord & { seq: number }>> {
    return this.s.rejected.all(ws, opts.beforeSeq ?? Number.MAX_SAFE_INTEGER, opts.limit).map(toRejected);
  }

  async loadEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<EvidenceMessage[]> {
    if (keys.length === 0) return [];
    return this.s.evidence.all(ws, JSON.stringify(keys)).map(toEvidence);
  }

  async loadComponentMembers(ws: WorkspaceId, componentIds: readonly string[]): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }> {
    return loadComponentMembers(this.s, ws, componentIds);
  }

  async scanProfiles(ws: WorkspaceId, opts: { afterId: ProfileId | null; limit: number }): Promise<Array<{ profile: ProfileState; identifiers: IdentifierState[] }>> {
    return this.profileScan(ws, opts);
  }

  async stats(ws: WorkspaceId): Promise<{ messages: number; profiles: number; identifiers: number; rejected: number }> {
    return {
      messages: this.s.countMessages.get(ws)?.n ?? 0,
      profiles: this.s.countProfiles.get(ws)?.n ?? 0,
      identifiers: this.s.countIdentifiers.get(ws)?.n ?? 0,
      rejected: this.s.countRejected.get(ws)?.n ?? 0,
    };
  }

  async messagesCarrying(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<StoredMessage[]> {
    return this.carrying(ws, keys);
  }
}


export type { ProfileState };
