import { parseModel, type Model } from '../match/model.ts';
import type { MatchRead } from '../store/match-ports.ts';
import type { WorkspaceId } from '../store/ports.ts';

/**
 * Parsed models by version. A version is a hash of everything that scores, so one parsed model
 * serves every workspace and connection holding that version; the ingest path then neither reads
 * nor parses the document per batch. Bounded: a process uses a handful of models.
 */
const parsed = new Map<string, Model>();
const MAX_CACHED = 16;

/**
 * The workspace's stored model of this version, checked by the matcher's parser once per document.
 * Undefined when no such version is stored.
 */
export async function loadModel(source: Pick<MatchRead, 'loadModel'>, ws: WorkspaceId, version: string): Promise<Model | undefined> {
  const hit = parsed.get(version);
  if (hit !== undefined) return hit;
  const row = await source.loadModel(ws, version);
  if (row === undefined) return undefined;
  const model = parseModel(row.model);
  // A document whose content no longer hashes to its version (edited in the database) is not cached.
  if (model.version === version) {
    if (parsed.size >= MAX_CACHED) parsed.delete(parsed.keys().next().value!);
    parsed.set(version, model);
  }
  return model;
}
