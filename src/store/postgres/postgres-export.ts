import type pg from 'pg';
import type { IdentifierState, ProfileId, ProfileState, WorkspaceId } from '../ports.ts';
import { IDENTIFIER_COLUMNS, PROFILE_COLUMNS, toIdentifier, toProfile, type IdentifierRow, type ProfileRow, type Statement } from './postgres-rows.ts';

const PAGE: Statement = {
  name: 'kith_export_profiles',
  text: `SELECT ${PROFILE_COLUMNS} FROM profiles WHERE ws = $1 AND id > $2 ORDER BY id LIMIT $3`,
};
const MEMBERS: Statement = {
  name: 'kith_export_identifiers',
  text: `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = $1 AND profile = ANY($2::text[])`,
};

/**
 * Keyset pages over a workspace's live profiles in id order (byte order: ids use the "C"
 * collation), each with its identifiers: two statements per page, whatever the workspace's size.
 * The two reads are not one snapshot; a profile changed in between is exported as it is after.
 */
export async function scanPostgresProfiles(
  pool: pg.Pool,
  ws: WorkspaceId,
  opts: { afterId: ProfileId | null; limit: number },
): Promise<Array<{ profile: ProfileState; identifiers: IdentifierState[] }>> {
  const { rows } = await pool.query<ProfileRow>({ ...PAGE, values: [ws, opts.afterId ?? '', opts.limit] });
  const profiles = rows.map(toProfile);
  if (profiles.length === 0) return [];
  const members = await pool.query<IdentifierRow>({ ...MEMBERS, values: [ws, profiles.map((p) => p.id)] });
  const byProfile = new Map<string, IdentifierState[]>(profiles.map((p) => [p.id, []]));
  for (const row of members.rows) {
    const s = toIdentifier(row);
    if (s.profileId !== null) byProfile.get(s.profileId)?.push(s);
  }
  return profiles.map((profile) => ({ profile, identifiers: byProfile.get(profile.id) ?? [] }));
}
