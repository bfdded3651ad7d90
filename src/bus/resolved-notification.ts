import type { MessageOutcome } from '../identity/resolve-batch.ts';

/** One resolved message, as a worker reports it to the API node that published it. */
export type ResolvedEntry = readonly [workspaceId: string, messageId: string, outcome: MessageOutcome];

/** `{"r": [[workspaceId, messageId, outcome], ...]}`: one notification per batch and API node. */
export function encodeNotification(entries: readonly ResolvedEntry[]): string {
  return JSON.stringify({ r: entries });
}

/** Parses a notification; undefined when it is not one (anything may be published on a subject). */
export function decodeNotification(text: string): ResolvedEntry[] | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const r = typeof raw === 'object' && raw !== null ? (raw as { r?: unknown }).r : undefined;
  if (!Array.isArray(r)) return undefined;
  const out: ResolvedEntry[] = [];
  for (const e of r) {
    if (Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'string' && (e[2] === 'accepted' || e[2] === 'duplicate')) out.push([e[0], e[1], e[2]]);
  }
  return out;
}
