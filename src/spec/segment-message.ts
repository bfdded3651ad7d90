/**
 * The Segment Tracking API message, as kith accepts it after validation.
 *
 * Reference: https://segment.com/docs/connections/spec/common/ and the per-type pages. Field names
 * are the spec's. `timestamp` is the event time *after* clock-skew correction
 * (`timestamp = receivedAt - (sentAt - originalTimestamp)`), in epoch milliseconds.
 */
export type MessageType = 'identify' | 'track' | 'page' | 'screen' | 'group' | 'alias';

export const MESSAGE_TYPES: readonly MessageType[] = ['identify', 'track', 'page', 'screen', 'group', 'alias'];

export type JsonObject = { [key: string]: JsonValue };
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;

export interface ValidMessage {
  readonly type: MessageType;
  /** Client-supplied, or derived from a hash of the message content when absent (so retries dedupe). */
  readonly messageId: string;
  readonly userId?: string;
  readonly anonymousId?: string;
  /** alias only */
  readonly previousId?: string;
  /** group only */
  readonly groupId?: string;
  /** track only */
  readonly event?: string;
  /** page/screen only */
  readonly name?: string;
  readonly category?: string;
  /** identify and group */
  readonly traits?: JsonObject;
  /** track, page, screen */
  readonly properties?: JsonObject;
  readonly context: JsonObject;
  readonly integrations?: JsonObject;
  /** Corrected event time, epoch ms. */
  readonly timestamp: number;
  /** The client's own timestamp as sent (ISO string), when it sent one. */
  readonly originalTimestamp?: string;
  readonly sentAt?: string;
  /** When kith received the request, epoch ms. */
  readonly receivedAt: number;
}

/** Why a message (or a whole request) was refused; `field` names the offending JSON path when known. */
export interface MessageProblem {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

export type MessageCheck = { ok: true; message: ValidMessage } | { ok: false; problem: MessageProblem };
