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
