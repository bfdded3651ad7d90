import type pg from 'pg';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonObject, MessageType } from '../../spec/segment-message.ts';
import type { ErasureCounts, ErasurePlan, PrivacyTx, ProfileId, StoredMessage, WorkspaceId } from '../ports.ts';
import type { Query } from './postgres-locks.ts';
import type { Queryable, Statement } from './postgres-rows.ts';

const SALT: Statement = { name: 'kith_privacy_salt', text: 'SELECT salt FROM suppression_salts WHERE ws = $1' };
const INSERT_SALT: Statement = {
  name: 'kith_privacy_insert_salt',
  text: 'INSERT INTO suppression_salts (ws, salt) VALUES ($1, $2) ON CONFLICT (ws) DO NOTHING',
};
const SUPPRESSED: Statement = {
  name: 'kith_privacy_suppressed',
  text: 'SELECT hash FROM suppressed WHERE ws = $1 AND hash = ANY($2::text[])',
};
/** Evidence rows of the messages, found through each message's own keys (keyed ws, ident, seq). */
const DELETE_EVIDENCE: Statement = {
  name: 'kith_erase_evidence',
  text: `
    DELETE FROM evidence e
    USING messages m CROSS JOIN LATERAL jsonb_array_elements_text(m.keys) AS x(key)
      JOIN identifiers i ON i.ws = $1 AND i.key = x.key
    WHERE m.ws = $1 AND m.message_id = ANY($2::text[]) AND e.ws = $1 AND e.ident = i.id AND e.seq = m.seq`,
};
const DELETE_MESSAGES: Statement = { name: 'kith_erase_messages', text: 'DELETE FROM messages WHERE ws = $1 AND message_id = ANY($2::text[])' };
const DELETE_REJECTED: Statement = {
  name: 'kith_erase_rejected',
  text: `DELETE FROM rejected WHERE ws = $1 AND (message_id = ANY($2::text[])
           OR EXISTS (SELECT 1 FROM unnest($3::text[]) AS v(text) WHERE strpos(lower(body), v.text) > 0))`,
};
const REDIRECTS: Statement = { name: 'kith_erase_redirects', text: 'SELECT from_id, to_ids FROM redirects WHERE ws = $1' };
const DELETE_REDIRECTS: Statement = { name: 'kith_erase_delete_redirects', text: 'DELETE FROM redirects WHERE ws = $1 AND from_id = ANY($2::text[])' };
const SET_REDIRECTS: Statement = {
  name: 'kith_erase_set_redirects',
  text: `UPDATE redirects r SET to_ids = u.to_ids FROM unnest($2::text[], $3::jsonb[]) AS u(from_id, to_ids)
         WHERE r.ws = $1 AND r.from_id = u.from_id`,
};
/** History rows naming any of the profiles go whole, with their index rows for every profile they name. */
const DELETE_HISTORY: Statement = {
  name: 'kith_erase_history',
  text: `
    WITH s AS (
      SELECT DISTINCT seq FROM history_profiles WHERE ws = $1 AND profile = ANY($2::text[])
    ), dh AS (
      DELETE FROM history h USING s WHERE h.ws = $1 AND h.seq = s.seq RETURNING h.seq, h.profile, h.related
    ), dhp AS (
      DELETE FROM history_profiles hp
      USING dh CROSS JOIN LATERAL (SELECT dh.profile UNION ALL SELECT jsonb_array_elements_text(dh.related)) AS x(profile)
      WHERE hp.ws = $1 AND hp.profile = x.profile AND hp.seq = dh.seq
    )
    SELECT count(*)::int AS n FROM dh`,
};
const SUPPRESS: Statement = {
  name: 'kith_erase_suppress',
  text: 'INSERT INTO suppressed (ws, hash, at) SELECT $1, h, $3 FROM unnest($2::text[]) AS h ON CONFLICT DO NOTHING',
};

/** Sends queries in the write transaction, taking the workspace lock first (see PostgresWriteTx). */
export type SendInWorkspace = (ws: WorkspaceId, mode: 'shared' | 'exclusive', queries: readonly Query[]) => Promise<pg.QueryResult[]>;

/**
 * Erasure and suppression on PostgreSQL. Erasure takes the workspace exclusively (its first call,
 * `suppressionSalt`, does), as a rules change does: ingest into the workspace waits for it, and
 * every unit of work that starts after it sees the suppression list it wrote (ingest checks the
 * list first, under the shared lock). Erasures are rare; a short pause of one workspace's ingest
 * is the price of never letting an old message slip in between the check and the delete.
 */
export class PostgresPrivacyTx implements PrivacyTx {
  constructor(private readonly send: SendInWorkspace) {}

  async suppressionSalt(ws: WorkspaceId, candidate: string | null): Promise<string | null> {
    const mode = candidate === null ? 'shared' : 'exclusive';
    const queries: Query[] = candidate === null ? [] : [{ statement: INSERT_SALT, values: [ws, candidate] }];
    const results = await this.send(ws, mode, [...queries, { statement: SALT, values: [ws] }]);
    const row = results[results.length - 1]!.rows[0] as { salt: string } | undefined;
    return row?.salt ?? null;
  }

  async suppressedHashes(ws: WorkspaceId, hashes: readonly string[]): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    const [result] = await this.send(ws, 'shared', [{ statement: SUPPRESSED, values: [ws, hashes] }]);
    return new Set((result!.rows as Array<{ hash: string }>).map((r) => r.hash));
  }

  async erase(ws: WorkspaceId, plan: ErasurePlan): Promise<ErasureCounts> {
    const ids = [...plan.messageIds];
    const [, messages, rejected, redirectRows] = await this.send(ws, 'exclusive', [
      { statement: DELETE_EVIDENCE, values: [ws, ids] },
      { statement: DELETE_MESSAGES, values: [ws, ids] },
      { statement: DELETE_REJECTED, values: [ws, ids, [...plan.rejectedContaining]] },
      { statement: REDIRECTS, values: [ws] },
    ]);

    // Old ids that resolve only to erased profiles are the same person's past ids: they go too.
    const erased = new Set<string>(plan.profileIds);
    const redirects = (redirectRows!.rows as Array<{ from_id: string; to_ids: string[] }>).map((r) => ({ from: r.from_id, to: r.to_ids }));
    for (let grew = true; grew; ) {
      grew = false;
      for (const r of redirects) {
        if (!erased.has(r.from) && r.to.length > 0 && r.to.every((id) => erased.has(id))) {
          erased.add(r.from);
          grew = true;
        }
      }
    }
    const dropped = redirects.filter((r) => erased.has(r.from)).map((r) => r.from);
    const trimmed = redirects.filter((r) => !erased.has(r.from) && r.to.some((id) => erased.has(id)));
    const [, , history] = await this.send(ws, 'exclusive', [
      { statement: DELETE_REDIRECTS, values: [ws, dropped] },
      { statement: SET_REDIRECTS, values: [ws, trimmed.map((r) => r.from), trimmed.map((r) => JSON.stringify(r.to.filter((id) => !erased.has(id))))] },
      { statement: DELETE_HISTORY, values: [ws, [...erased]] },
      { statement: SUPPRESS, values: [ws, [...plan.suppress], plan.at] },
    ]);
    return {
      messages: messages!.rowCount ?? 0,
      rejected: rejected!.rowCount ?? 0,
      history: (history!.rows[0] as { n: number } | undefined)?.n ?? 0,
      redirects: dropped.length + trimmed.length,
      profileIds: [...erased].sort() as ProfileId[],
    };
  }
}

const CARRYING: Statement = {
  name: 'kith_read_messages_carrying',
  text: `
    SELECT m.message_id, m.type, m.t, m.received_at, m.source, m.keys, m.body,
      (SELECT i.key FROM identifiers i WHERE i.ws = m.ws AND i.id = m.primary_ident) AS primary_key
    FROM messages m
    WHERE m.ws = $1 AND m.seq IN (
      SELECT e.seq FROM identifiers i JOIN evidence e ON e.ws = i.ws AND e.ident = i.id
      WHERE i.ws = $1 AND i.key = ANY($2::text[]))
    ORDER BY m.t, m.message_id`,
};

/** `ReadPort.messagesCarrying` on PostgreSQL: every message carrying any of the keys, oldest first. */
export async function selectMessagesCarrying(db: Queryable, ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<StoredMessage[]> {
  if (keys.length === 0) return [];
  type Row = { message_id: string; type: string; t: number; received_at: number; source: string; keys: string[]; body: JsonObject; primary_key: string | null };
  const { rows } = await db.query<Row>({ ...CARRYING, values: [ws, keys] });
  return rows.map((r) => ({
    messageId: r.message_id,
    type: r.type as MessageType,
    t: r.t,
    receivedAt: r.received_at,
    source: r.source,
    keys: r.keys as IdentifierKey[],
    primary: r.primary_key as IdentifierKey | null,
    body: r.body,
  }));
}

/** The tables erasure deletes from, VACUUMed by `scrub` so dead rows stop being readable on disk. */
export const ERASED_TABLES = ['messages', 'evidence', 'identifiers', 'profiles', 'components', 'history', 'history_profiles', 'redirects', 'rejected'] as const;
