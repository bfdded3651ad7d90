import type { Store, Workspace } from '../store/ports.ts';
import type { ValidMessage } from '../spec/segment-message.ts';
import { extractIdentifiers } from './extract-identifiers.ts';
import type { IdentifierKey } from './identifier.ts';
import { reresolve } from './reresolve.ts';

export interface WorkspaceReresolution {
  readonly messages: number;
  readonly messagesRewritten: number;
  readonly identifiersRemoved: number;
  readonly identifiersVisited: number;
}

const CHUNK = 2000;

/**
 * Re-resolves a whole workspace under its current rules, after they changed: identifiers are
 * extracted again from every stored message (new trait mappings, blocklist entries, phone region,
 * priorities), quarantine is decided afresh, and every component is replayed from its evidence.
 * Work is done in chunks, each its own transaction, so ingest keeps flowing meanwhile; new messages
 * are resolved under the new rules as they arrive.
 */
export async function reresolveWorkspace(
  store: Store,
  ws: Workspace,
  options: { now: number; onProgress?: (phase: string, done: number) => void },
): Promise<WorkspaceReresolution> {
  let messages = 0;
  let messagesRewritten = 0;
  for (let after = 0; ; ) {
    const last = await store.write(async (tx) => {
      const rows = await tx.scanMessages(ws.id, after, CHUNK);
      const changed: Array<{ seq: number; keys: IdentifierKey[] }> = [];
      for (const row of rows) {
        const keys = [...extractIdentifiers(JSON.parse(row.body) as ValidMessage, ws.rules).keys];
        if (keys.length !== row.keys.length || keys.some((k, i) => k !== row.keys[i])) changed.push({ seq: row.seq, keys });
      }
      await tx.rewriteMessageKeys(ws.id, changed);
      messages += rows.length;
      messagesRewritten += changed.length;
      return rows[rows.length - 1]?.seq;
    });
    options.onProgress?.('messages', messages);
    if (last === undefined) break;
    after = last;
  }
  const identifiersRemoved = await store.write(async (tx) => {
    await tx.clearQuarantine(ws.id);
    return tx.deleteOrphanIdentifiers(ws.id);
  });

  // Replay component by component: each chunk of identifiers seeds the components they belong to.
  let identifiersVisited = 0;
  for (let after: string | null = null; ; ) {
    const keys: IdentifierKey[] = await store.write((tx) => tx.scanIdentifierKeys(ws.id, after, CHUNK));
    if (keys.length === 0) break;
    await store.write((tx) => reresolve(tx, ws, { seeds: keys, components: [], now: options.now, cause: null, reason: { rulesChanged: 'true' } }));
    identifiersVisited += keys.length;
    options.onProgress?.('identifiers', identifiersVisited);
    after = keys[keys.length - 1]!;
  }
  return { messages, messagesRewritten, identifiersRemoved, identifiersVisited };
}
