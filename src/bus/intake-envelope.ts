import { createHash } from 'node:crypto';
import type { IdentifierKey } from '../identity/identifier.ts';
import { IDENTIFIER_TYPE_PATTERN } from '../identity/identifier.ts';
import type { PreparedMessage } from '../identity/resolve-batch.ts';
import { MESSAGE_TYPES, type JsonObject, type MessageType } from '../spec/segment-message.ts';
import type { WorkspaceId } from '../store/ports.ts';

/**
 * One accepted message on the intake stream: the workspace and the message as the API node
 * prepared it (validated, identifiers extracted under the workspace's rules, body serialised), so
 * a worker only resolves. JSON, one message per stream entry, so JetStream dedupes per message id.
 */
export interface IntakeEnvelope {
  readonly workspaceId: WorkspaceId;
  readonly message: PreparedMessage;
}

/** The header carrying the core-NATS subject on which the publishing API node waits. */
export const NOTIFY_HEADER = 'Kith-Notify';

export function encodeEnvelope(envelope: IntakeEnvelope): string {
  return JSON.stringify({ v: 1, w: envelope.workspaceId, m: envelope.message });
}

/**
 * The `Nats-Msg-Id` of a message: a digest of workspace and message id (message ids are only unique
 * within a workspace, and may be up to 256 characters of anything a header must not carry).
 */
export function dedupeId(workspaceId: string, messageId: string): string {
  return createHash('sha256').update(workspaceId).update('\0').update(messageId).digest('base64url');
}

export type DecodedEnvelope = { ok: true; envelope: IntakeEnvelope } | { ok: false; reason: string };

/**
 * Parses a stream entry. Anything published on the intake subjects by something other than a kith
 * API node is refused with a reason (the worker puts it in the rejected log), never trusted.
 */
export function decodeEnvelope(text: string): DecodedEnvelope {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (!isObject(raw) || raw.v !== 1 || typeof raw.w !== 'string' || !isObject(raw.m)) return { ok: false, reason: 'not a kith intake envelope (v, w, m)' };
  const m = raw.m;
  const strings = ['messageId', 'type', 'source', 'body'] as const;
  for (const k of strings) if (typeof m[k] !== 'string') return { ok: false, reason: `message field "${k}" must be a string` };
  if (!MESSAGE_TYPES.includes(m.type as MessageType)) return { ok: false, reason: `unknown message type "${String(m.type)}"` };
  if (m.event !== null && typeof m.event !== 'string') return { ok: false, reason: 'message field "event" must be a string or null' };
  for (const k of ['t', 'receivedAt'] as const) if (typeof m[k] !== 'number' || !Number.isFinite(m[k])) return { ok: false, reason: `message field "${k}" must be a number` };
  if (!Array.isArray(m.keys) || !m.keys.every(isIdentifierKey)) return { ok: false, reason: 'message field "keys" must be identifier keys (type:value)' };
  if (m.traits !== null && !isObject(m.traits)) return { ok: false, reason: 'message field "traits" must be an object or null' };
  const message: PreparedMessage = {
    messageId: m.messageId as string,
    type: m.type as MessageType,
    event: m.event as string | null,
    t: m.t as number,
    receivedAt: m.receivedAt as number,
    source: m.source as string,
    keys: m.keys as IdentifierKey[],
    traits: m.traits as JsonObject | null,
    body: m.body as string,
  };
  return { ok: true, envelope: { workspaceId: raw.w as WorkspaceId, message } };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isIdentifierKey(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const at = v.indexOf(':');
  return at > 0 && at < v.length - 1 && IDENTIFIER_TYPE_PATTERN.test(v.slice(0, at));
}
