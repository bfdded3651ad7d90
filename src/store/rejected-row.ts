import type { RejectedRecord } from './ports.ts';

/** A row of the rejected-message log, as both stores select it. */
export interface RejectedRow {
  seq: number;
  received_at: number;
  idx: number | null;
  message_id: string | null;
  code: string;
  reason: string;
  field: string | null;
  body: string;
  source: string;
}

export function toRejected(r: RejectedRow): RejectedRecord & { seq: number } {
  return {
    seq: r.seq,
    receivedAt: r.received_at,
    index: r.idx,
    messageId: r.message_id,
    code: r.code,
    reason: r.reason,
    field: r.field,
    body: r.body,
    source: r.source,
  };
}
