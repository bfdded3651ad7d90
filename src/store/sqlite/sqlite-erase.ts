import type Database from 'better-sqlite3';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonObject, MessageType } from '../../spec/segment-message.ts';
import type { ErasureCounts, ErasurePlan, PrivacyTx, ProfileId, StoredMessage, WorkspaceId } from '../ports.ts';

/**
 * Erasure and suppression on the SQLite store. Deletes run on the write connection, which has
 * `secure_delete` on (see sqlite-store.ts): SQLite zeroes the bytes of every row it deletes and
 * every page it frees, so nothing of an erased person survives in free space once the WAL is
 * checkpointed into the file (`scrub`).
 */
export class SqlitePrivacyTx implements PrivacyTx {
  private readonly s;

  constructor(db: Database.Database) {
    this.s = {
      salt: db.prepare<[string], { salt: string }>('SELECT salt FROM suppression_salts WHERE ws = ?'),
      insertSalt: db.prepare('INSERT OR IGNORE INTO suppression_salts (ws, salt) VALUES (?, ?)'),
      suppressed: db.prepare<[string, string], { hash: string }>(
        'SELECT hash FROM suppressed WHERE ws = ? AND hash IN (SELECT value FROM json_each(?))',
      ),
      suppress: db.prepare('INSERT OR IGNORE INTO suppressed (ws, hash, at) VALUES (?, ?, ?)'),
      message: db.prepare<[string, string], { seq: number; keys: string }>('SELECT seq, keys FROM messages WHERE ws = ? AND message_id = ?'),
      // Evidence rows are keyed (ident, seq): found through the message's own keys, not by a scan.
      deleteEvidence: db.prepare(
        'DELETE FROM evidence WHERE seq = ? AND ident IN (SELECT id FROM identifiers WHERE ws = ? AND key IN (SELECT value FROM json_each(?)))',
      ),
      deleteMessage: db.prepare('DELETE FROM messages WHERE seq = ?'),
      deleteRejected: db.prepare('DELETE FROM rejected WHERE ws = ? AND message_id = ?'),
      deleteRejectedContaining: db.prepare('DELETE FROM rejected WHERE ws = ? AND instr(lower(body), ?) > 0'),
      historyOf: db.prepare<[string, string], { seq: number }>('SELECT seq FROM history_profiles WHERE ws = ? AND profile = ?'),
      historyNames: db.prepare<[{ seq: number }], { profile: string }>(
        'SELECT profile FROM history WHERE seq = @seq UNION SELECT value FROM history, json_each(history.related) WHERE history.seq = @seq',
      ),
      deleteHistory: db.prepare('DELETE FROM history WHERE seq = ?'),
      deleteHistoryProfile: db.prepare('DELETE FROM history_profiles WHERE ws = ? AND profile = ? AND seq = ?'),
      redirects: db.prepare<[string], { from_id: string; to_ids: string }>('SELECT from_id, to_ids FROM redirects WHERE ws = ?'),
      deleteRedirect: db.prepare('DELETE FROM redirects WHERE ws = ? AND from_id = ?'),
      setRedirect: db.prepare('UPDATE redirects SET to_ids = ? WHERE ws = ? AND from_id = ?'),
    };
  }

  async suppressionSalt(ws: WorkspaceId, candidate: string | null): Promise<string | null> {
    const found = this.s.salt.get(ws);
    if (found !== undefined || candidate === null) return found?.salt ?? null;
    this.s.insertSalt.run(ws, candidate);
    return this.s.salt.get(ws)!.salt;
  }

  async suppressedHashes(ws: WorkspaceId, hashes: readonly string[]): Promise<Set<string>> {
    if (hashes.length === 0) return new Set();
    return new Set(this.s.suppressed.all(ws, JSON.stringify(hashes)).map((r) => r.hash));
  }

  async erase(ws: WorkspaceId, plan: ErasurePlan): Promise<ErasureCounts> {
    const s = this.s;
    let messages = 0;
    let rejected = 0;
    for (const id of plan.messageIds) {
      const row = s.message.get(ws, id);
      if (row !== undefined) {
        s.deleteEvidence.run(row.seq, ws, row.keys);
        s.deleteMessage.run(row.seq);
        messages += 1;
      }
      rejected += s.deleteRejected.run(ws, id).changes;
    }
    for (const text of plan.rejectedContaining) rejected += s.deleteRejectedContaining.run(ws, text).changes;

    // Old ids that resolve only to erased profiles are the same person's past ids: they go too.
    const erased = new Set<string>(plan.profileIds);
    const redirects = s.redirects.all(ws).map((r) => ({ from: r.from_id, to: JSON.parse(r.to_ids) as string[] }));
    let redirectCount = 0;
    for (let grew = true; grew; ) {
      grew = false;
      for (const r of redirects) {
        if (!erased.has(r.from) && r.to.length > 0 && r.to.every((id) => erased.has(id))) {
          erased.add(r.from);
          grew = true;
        }
      }
    }
    for (const r of redirects) {
      if (erased.has(r.from)) {
        s.deleteRedirect.run(ws, r.from);
        redirectCount += 1;
      } else if (r.to.some((id) => erased.has(id))) {
        s.setRedirect.run(JSON.stringify(r.to.filter((id) => !erased.has(id))), ws, r.from);
        redirectCount += 1;
      }
    }

    // History rows naming an erased profile go whole, with their index rows for every profile.
    let history = 0;
    for (const id of erased) {
      for (const { seq } of s.historyOf.all(ws, id)) {
        for (const { profile } of s.historyNames.all({ seq })) s.deleteHistoryProfile.run(ws, profile, seq);
        s.deleteHistoryProfile.run(ws, id, seq);
        history += s.deleteHistory.run(seq).changes;
      }
    }

    for (const hash of plan.suppress) s.suppress.run(ws, hash, plan.at);
    return { messages, rejected, history, redirects: redirectCount, profileIds: [...erased].sort() as ProfileId[] };
  }
}

interface MessageRow {
  message_id: string;
  type: string;
  t: number;
  received_at: number;
  source: string;
  keys: string;
  primary_key: string | null;
  body: string;
}

/** `ReadPort.messagesCarrying` on SQLite: every message carrying any of the keys, oldest first. */
export function messagesCarrying(db: Database.Database): (ws: WorkspaceId, keys: readonly IdentifierKey[]) => StoredMessage[] {
  const statement = db.prepare<[string, string], MessageRow>(
    `SELECT m.message_id, m.type, m.t, m.received_at, m.source, m.keys, m.body,
       (SELECT key FROM identifiers WHERE id = m.primary_ident) AS primary_key
     FROM messages m WHERE m.seq IN (
       SELECT e.seq FROM identifiers i JOIN evidence e ON e.ident = i.id
       WHERE i.ws = ? AND i.key IN (SELECT value FROM json_each(?)))
     ORDER BY m.t, m.message_id`,
  );
  return (ws, keys) => {
    if (keys.length === 0) return [];
    return statement.all(ws, JSON.stringify(keys)).map((r) => ({
      messageId: r.message_id,
      type: r.type as MessageType,
      t: r.t,
      receivedAt: r.received_at,
      source: r.source,
      keys: JSON.parse(r.keys) as IdentifierKey[],
      primary: r.primary_key as IdentifierKey | null,
      body: JSON.parse(r.body) as JsonObject,
    }));
  };
}
