import { toRejected, type RejectedRow } from '../rejected-row.ts';
import type pg from 'pg';
import { PostgresMatch } from './postgres-match.ts';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonObject } from '../../spec/segment-message.ts';
import { decodeCursor, eventPage, type EventRow } from '../event-cursor.ts';
import { scanPostgresProfiles } from './postgres-export.ts';
import { selectMessagesCarrying } from './postgres-erase.ts';
import type { StoredMessage } from '../ports.ts';
import type { EventPage, EvidenceMessage, FirstEvidence, HistoryKind, HistoryRecord, IdentifierState, ProfileId, ProfileState, ReadPort, RejectedRecord, WorkspaceId } from '../ports.ts';
import {
  IDENTIFIER_COLUMNS,
  PROFILE_COLUMNS,
  selectComponentMembers,
  selectEvidence,
  selectIdentifiers,
  toIdentifier,
  toProfile,
  type IdentifierRow,
  type ProfileRow,
  type Statement,
} from './postgres-rows.ts';

const IDENTIFIER: Statement = { name: 'kith_read_identifier', text: `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = $1 AND key = $2` };
const PROFILE: Statement = { name: 'kith_read_profile', text: `SELECT ${PROFILE_COLUMNS} FROM profiles WHERE ws = $1 AND id = $2` };
const REDIRECT: Statement = { name: 'kith_read_redirect', text: 'SELECT to_ids FROM redirects WHERE ws = $1 AND from_id = $2' };
const PROFILE_IDENTIFIERS: Statement = {
  name: 'kith_read_profile_identifiers',
  text: `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = $1 AND profile = $2`,
};
/**
 * Per identifier, its earliest message by (event time, message id) among its evidence rows: the
 * cost is the identifiers' evidence, read when a profile is displayed, never on ingest.
 */
const FIRST_EVIDENCE: Statement = {
  name: 'kith_read_first_evidence',
  text: `
    SELECT DISTINCT ON (i.key) i.key, m.t, m.message_id, m.source
    FROM identifiers i
      JOIN evidence e ON e.ws = i.ws AND e.ident = i.id
      JOIN messages m ON m.ws = e.ws AND m.seq = e.seq
    WHERE i.ws = $1 AND i.key = ANY($2::text[])
    ORDER BY i.key, m.t, m.message_id`,
};
/** Keyset paging on (t, message_id), newest first; the row comparison uses messages_primary. */
const EVENTS: Statement = {
  name: 'kith_read_events',
  text: `
    SELECT message_id, type, event, t, received_at, source, body FROM messages
    WHERE ws = $1 AND primary_ident IN (SELECT id FROM identifiers WHERE ws = $1 AND profile = $2)
      AND (t, message_id) < ($3::int8, $4::text)
    ORDER BY t DESC, message_id DESC
    LIMIT $5`,
};
const HISTORY: Statement = {
  name: 'kith_read_history',
  text: `
    SELECT h.seq, h.kind, h.profile, h.related, h.at, h.message_id, h.detail FROM history h
    WHERE h.ws = $1 AND h.seq IN (SELECT seq FROM history_profiles WHERE ws = $1 AND profile = ANY($2::text[]))
    ORDER BY h.seq`,
};
const REJECTED: Statement = {
  name: 'kith_read_rejected',
  text: `SELECT seq, received_at, idx, message_id, code, reason, field, body, source FROM rejected
         WHERE ws = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
};
const STATS: Statement = {
  name: 'kith_read_stats',
  text: `SELECT
    (SELECT count(*) FROM messages WHERE ws = $1) AS messages,
    (SELECT count(*) FROM profiles WHERE ws = $1) AS profiles,
    (SELECT count(*) FROM identifiers WHERE ws = $1) AS identifiers,
    (SELECT count(*) FROM rejected WHERE ws = $1) AS rejected`,
};

interface HistoryRow {
  seq: number;
  kind: string;
  profile: string;
  related: ProfileId[];
  at: number;
  message_id: string | null;
  detail: JsonObject;
}


/**
 * Read-only queries on the pool, outside any transaction: each call sees the last committed state
 * and never a half-applied unit of work. One statement per call.
 */
export class PostgresRead implements ReadPort {
  readonly match: PostgresMatch;
  constructor(private readonly pool: pg.Pool) {
    this.match = new PostgresMatch((_ws, queries) => Promise.all(queries.map((q) => pool.query({ ...q.statement, values: [...q.values] }))));
  }

  async findIdentifier(ws: WorkspaceId, key: IdentifierKey): Promise<IdentifierState | undefined> {
    const [row] = await this.rows<IdentifierRow>(IDENTIFIER, [ws, key]);
    return row === undefined ? undefined : toIdentifier(row);
  }

  loadIdentifiers(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierState[]> {
    return selectIdentifiers(this.pool, ws, keys);
  }

  async identifierProfiles(ws: WorkspaceId, keys: readonly IdentifierKey[], meanwhile?: () => void): Promise<Map<IdentifierKey, ProfileId | null>> {
    const found = new Map<IdentifierKey, ProfileId | null>();
    for (const s of await selectIdentifiers(this.pool, ws, keys)) found.set(s.key, s.quarantined ? null : s.profileId);
    // The answer is complete (one statement, one snapshot) before anything `meanwhile` starts.
    meanwhile?.();
    return found;
  }

  async loadProfile(ws: WorkspaceId, id: ProfileId): Promise<ProfileState | undefined> {
    const [row] = await this.rows<ProfileRow>(PROFILE, [ws, id]);
    return row === undefined ? undefined : toProfile(row);
  }

  async redirectOf(ws: WorkspaceId, id: ProfileId): Promise<readonly ProfileId[] | undefined> {
    const [row] = await this.rows<{ to_ids: ProfileId[] }>(REDIRECT, [ws, id]);
    return row?.to_ids;
  }

  async identifiersOf(ws: WorkspaceId, id: ProfileId): Promise<IdentifierState[]> {
    return (await this.rows<IdentifierRow>(PROFILE_IDENTIFIERS, [ws, id])).map(toIdentifier);
  }

  async firstEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<Map<IdentifierKey, FirstEvidence>> {
    const found = new Map<IdentifierKey, FirstEvidence>();
    if (keys.length === 0) return found;
    for (const r of await this.rows<{ key: string; t: number; message_id: string; source: string }>(FIRST_EVIDENCE, [ws, keys])) {
      found.set(r.key as IdentifierKey, { t: r.t, messageId: r.message_id, source: r.source });
    }
    return found;
  }

  async eventsOf(ws: WorkspaceId, id: ProfileId, opts: { limit: number; cursor: string | null }): Promise<EventPage> {
    const after = opts.cursor === null ? undefined : decodeCursor(opts.cursor);
    // Without a cursor: everything before (MAX_SAFE_INTEGER, ''), i.e. every event.
    const rows = await this.rows<EventRow<JsonObject>>(EVENTS, [ws, id, after?.t ?? Number.MAX_SAFE_INTEGER, after?.m ?? '', opts.limit + 1]);
    return eventPage(rows, opts.limit, (json) => json);
  }

  async historyOf(ws: WorkspaceId, ids: readonly ProfileId[]): Promise<HistoryRecord[]> {
    if (ids.length === 0) return [];
    return (await this.rows<HistoryRow>(HISTORY, [ws, ids])).map((r) => ({
      seq: r.seq,
      kind: r.kind as HistoryKind,
      profileId: r.profile as ProfileId,
      related: r.related,
      at: r.at,
      messageId: r.message_id,
      detail: r.detail,
    }));
  }

  async listRejected(ws: WorkspaceId, opts: { limit: number; beforeSeq: number | null }): Promise<Array<RejectedRecord & { seq: number }>> {
    const rows = await this.rows<RejectedRow>(REJECTED, [ws, opts.beforeSeq ?? Number.MAX_SAFE_INTEGER, opts.limit]);
    return rows.map(toRejected);
  }

  loadEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<EvidenceMessage[]> {
    return selectEvidence(this.pool, ws, keys);
  }

  loadComponentMembers(ws: WorkspaceId, componentIds: readonly string[]): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }> {
    return selectComponentMembers(this.pool, ws, componentIds);
  }

  scanProfiles(ws: WorkspaceId, opts: { afterId: ProfileId | null; limit: number }): Promise<Array<{ profile: ProfileState; identifiers: IdentifierState[] }>> {
    return scanPostgresProfiles(this.pool, ws, opts);
  }

  async stats(ws: WorkspaceId): Promise<{ messages: number; profiles: number; identifiers: number; rejected: number }> {
    const [row] = await this.rows<{ messages: number; profiles: number; identifiers: number; rejected: number }>(STATS, [ws]);
    return { messages: row?.messages ?? 0, profiles: row?.profiles ?? 0, identifiers: row?.identifiers ?? 0, rejected: row?.rejected ?? 0 };
  }

  messagesCarrying(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<StoredMessage[]> {
    return selectMessagesCarrying(this.pool, ws, keys);
  }

  private async rows<R extends pg.QueryResultRow>(statement: Statement, values: unknown[]): Promise<R[]> {
    return (await this.pool.query<R>({ ...statement, values })).rows;
  }
}
