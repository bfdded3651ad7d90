import type { JsonObject, MessageType } from '../spec/segment-message.ts';
import type { EventPage } from './ports.ts';

/**
 * The opaque `next` cursor of a profile's event timeline, shared by every store so a cursor means
 * the same thing whichever store issued it: the keyset position (event time, message id) of the
 * last event of a page, base64url-encoded JSON.
 */
export function encodeCursor(t: number, messageId: string): string {
  return Buffer.from(JSON.stringify([t, messageId])).toString('base64url');
}

/** The position a cursor encodes, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): { t: number; m: string } | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return { t: v[0], m: v[1] };
  } catch {
    // fall through: an unreadable cursor is the caller's error, reported as such
  }
  return undefined;
}

/** An event row as both stores select it; the body is stored text (SQLite) or JSON (PostgreSQL). */
export interface EventRow<Body> {
  message_id: string;
  type: string;
  event: string | null;
  t: number;
  received_at: number;
  source: string;
  body: Body;
}

/**
 * A page of the timeline from the `limit + 1` newest rows after the cursor: the extra row, when
 * there is one, only says that another page follows, whose cursor is the last row shown.
 */
export function eventPage<Body>(rows: ReadonlyArray<EventRow<Body>>, limit: number, body: (stored: Body) => JsonObject): EventPage {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    events: page.map((r) => ({
      messageId: r.message_id,
      type: r.type as MessageType,
      event: r.event,
      t: r.t,
      receivedAt: r.received_at,
      source: r.source,
      body: body(r.body),
    })),
    next: rows.length > limit && last !== undefined ? encodeCursor(last.t, last.message_id) : null,
  };
}
