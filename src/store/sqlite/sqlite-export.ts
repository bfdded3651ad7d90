import type Database from 'better-sqlite3';
import type { IdentifierState, ProfileId, ProfileState, WorkspaceId } from '../ports.ts';
import { IDENTIFIER_COLUMNS, PROFILE_COLUMNS, toIdentifier, toProfile, type IdentifierRow, type ProfileRow } from './sqlite-rows.ts';

export type ProfileScan = (ws: WorkspaceId, opts: { afterId: ProfileId | null; limit: number }) => Array<{ profile: ProfileState; identifiers: IdentifierState[] }>;

/**
 * Keyset pages over a workspace's live profiles in id order (the profiles primary key), each with
 * its identifiers (one indexed query per page), for exports that walk every profile without
 * holding more than a page.
 */
export function sqliteProfileScan(db: Database.Database): ProfileScan {
  const page = db.prepare<[string, string, number], ProfileRow>(`SELECT ${PROFILE_COLUMNS} FROM profiles WHERE ws = ? AND id > ? ORDER BY id LIMIT ?`);
  const members = db.prepare<[string, string], IdentifierRow>(
    `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = ? AND profile IN (SELECT value FROM json_each(?))`,
  );
  return (ws, opts) => {
    const profiles = page.all(ws, opts.afterId ?? '', opts.limit).map(toProfile);
    if (profiles.length === 0) return [];
    const byProfile = new Map<string, IdentifierState[]>(profiles.map((p) => [p.id, []]));
    for (const row of members.all(ws, JSON.stringify(profiles.map((p) => p.id)))) {
      const s = toIdentifier(row);
      if (s.profileId !== null) byProfile.get(s.profileId)?.push(s);
    }
    return profiles.map((profile) => ({ profile, identifiers: byProfile.get(profile.id) ?? [] }));
  };
}
