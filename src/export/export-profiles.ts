import { splitIdentifierKey } from '../identity/identifier.ts';
import { orderByFirstSeen } from '../profile/first-seen.ts';
import { traitValues } from '../profile/traits.ts';
import type { JsonObject } from '../spec/segment-message.ts';
import type { ProfileId, ReadPort, Workspace } from '../store/ports.ts';

/** One profile as exports write it (an NDJSON line; CSV flattens it with dotted column names). */
export interface ExportedProfile {
  readonly profile_id: string;
  readonly created_at: string;
  readonly updated_at: string;
  /** Identifier type → values, each list in the order the values were first seen. */
  readonly identifiers: Record<string, string[]>;
  readonly traits: JsonObject;
}

export type ExportFormat = 'ndjson' | 'csv';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['ndjson', 'csv'];

const PAGE = 500;

/**
 * Every live profile of the workspace, in profile id order, read a page at a time so memory stays
 * flat whatever the workspace's size. Quarantined identifiers belong to no profile and are not
 * listed. A profile that changes while the export runs is written as it is when its page is read.
 */
export async function* exportedProfiles(read: ReadPort, ws: Workspace): AsyncGenerator<ExportedProfile> {
  let after: ProfileId | null = null;
  for (;;) {
    const page = await read.scanProfiles(ws.id, { afterId: after, limit: PAGE });
    if (page.length === 0) return;
    // First evidence is read from the evidence, for the whole page in one query.
    const first = await read.firstEvidence(ws.id, page.flatMap((p) => p.identifiers.map((s) => s.key)));
    for (const { profile, identifiers } of page) {
      const byType: Record<string, string[]> = {};
      const ordered = orderByFirstSeen(identifiers.map((s) => s.key), first);
      for (const s of ordered) {
        const { type, value } = splitIdentifierKey(s.key);
        (byType[type] ??= []).push(value);
      }
      const identifiersByType: Record<string, string[]> = {};
      for (const type of Object.keys(byType).sort()) identifiersByType[type] = byType[type]!;
      yield {
        profile_id: profile.id,
        created_at: new Date(profile.firstT).toISOString(),
        updated_at: new Date(profile.lastT).toISOString(),
        identifiers: identifiersByType,
        traits: traitValues(profile.traits),
      };
    }
    after = page[page.length - 1]!.profile.id;
  }
}
