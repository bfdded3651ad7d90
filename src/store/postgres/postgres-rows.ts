import pg from 'pg';
import type { IdentifierKey } from '../../identity/identifier.ts';
import type { JsonObject, MessageType } from '../../spec/segment-message.ts';
import type { EvidenceMessage, IdentifierState, ProfileId, ProfileState } from '../ports.ts';

/**
 * Row shapes as the driver returns them, with the type parsers below: BIGINT as number, JSON and
 * JSONB parsed, BOOLEAN as boolean. Mapped to port types at this boundary only.
 */
export interface IdentifierRow {
  key: string;
  profile: string | null;
  quarantined: boolean;
  peers: Record<string, IdentifierKey[]>;
}

export const IDENTIFIER_COLUMNS = 'key, profile, quarantined, peers';

export function toIdentifier(row: IdentifierRow): IdentifierState {
  return {
    key: row.key as IdentifierKey,
    profileId: row.profile as ProfileId | null,
    quarantined: row.quarantined,
    peers: row.peers,
  };
}

export interface ProfileRow {
  id: string;
  component: string;
  founder: string;
  founder_t: number;
  founder_m: string;
  founder_pos: number;
  traits: ProfileState['traits'];
  counts: Record<string, number>;
  first_t: number;
  last_t: number;
  consent: ProfileState['traits'];
}

export const PROFILE_COLUMNS = 'id, component, founder, founder_t, founder_m, founder_pos, traits, counts, first_t, last_t, consent';

/** A column list with each column prefixed by a table alias: `qualified('a, b', 'i')` is `i.a, i.b`. */
export function qualified(columns: string, alias: string): string {
  return columns
    .split(', ')
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

export function toProfile(row: ProfileRow): ProfileState {
  return {
    id: row.id as ProfileId,
    componentId: row.component,
    founder: row.founder as IdentifierKey,
    founderT: row.founder_t,
    founderM: row.founder_m,
    founderPos: row.founder_pos,
    traits: row.traits,
    counts: row.counts,
    firstT: row.first_t,
    lastT: row.last_t,
    consent: row.consent,
  };
}

export interface EvidenceRow {
  message_id: string;
  type: string;
  t: number;
  source: string;
  keys: string[];
  primary_key: string | null;
  traits: JsonObject | null;
  consent: JsonObject | null;
}

/**
 * Selects what re-resolution needs from `messages m`; identify traits are extracted by the server,
 * so bodies are neither shipped nor parsed here.
 */
export const EVIDENCE_COLUMNS = `m.message_id, m.type, m.t, m.source, m.keys,
  (SELECT i.key FROM identifiers i WHERE i.ws = m.ws AND i.id = m.primary_ident) AS primary_key,
  CASE WHEN m.type = 'identify' THEN m.body -> 'traits' END AS traits,
  CASE WHEN json_typeof(m.body -> 'context' -> 'consent' -> 'categoryPreferences') = 'object'
    THEN m.body -> 'context' -> 'consent' -> 'categoryPreferences' END AS consent`;

export function toEvidence(row: EvidenceRow): EvidenceMessage {
  return {
    messageId: row.message_id,
    type: row.type as MessageType,
    t: row.t,
    source: row.source,
    keys: row.keys as IdentifierKey[],
    primary: row.primary_key as IdentifierKey | null,
    traits: row.traits,
    ...(row.consent === null ? {} : { consent: row.consent }),
  };
}

/**
 * JSON text PostgreSQL accepts. Its JSON types refuse two things JavaScript strings can hold and
 * SQLite stores: U+0000 (`\u0000`, "cannot be converted to text") and unpaired surrogates
 * (`\ud800`); `jsonb` refuses them on input, `json` as soon as an operator reads inside. Both
 * become U+FFFD, as PostHog's ingestion does for the same reason, rather than failing the whole
 * transaction; it is also what the driver's UTF-8 encoding already does to an unpaired surrogate
 * in a TEXT parameter, so keys stay consistent across columns. JSON.stringify only writes `\u`
 * escapes for control characters and unpaired surrogates, so ordinary values pay one substring
 * search. Every backslash in JSON text starts an escape; the scan consumes whole escapes from the
 * left, so an escaped backslash followed by `u0000` is left alone.
 */
export function pgJson(json: string): string {
  if (!json.includes('\\u')) return json;
  return json.replace(UNSAFE_ESCAPE, (escape: string, pair: string | undefined, lone: string | undefined) =>
    pair === undefined && lone !== undefined ? '\\ufffd' : escape,
  );
}

/** A surrogate pair (kept), an unpaired surrogate or U+0000 (replaced), or any other escape (kept). */
const UNSAFE_ESCAPE = /(\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|\\u([dD][89a-fA-F][0-9a-fA-F]{2}|0000)|\\[^u]/g;

/** JSON text for a JSONB parameter (see pgJson). */
export function jsonb(value: unknown): string {
  return pgJson(JSON.stringify(value));
}

/** TEXT cannot hold U+0000 either; used for free text that may carry anything (rejected bodies). */
export function text(value: string): string {
  return value.includes('\0') ? value.replaceAll('\0', '\ufffd') : value;
}

const INT8_OID = 20;

function parseInt8(value: string): number {
  const n = Number(value);
  // Epoch milliseconds and identity values stay far below 2^53; anything else is a bug upstream.
  if (!Number.isSafeInteger(n)) throw new Error(`BIGINT ${value} does not fit a JavaScript number`);
  return n;
}

/**
 * The driver's type parsers for kith's pools: BIGINT (times, sequence numbers, counts) becomes a
 * number instead of a string; everything else keeps pg's defaults (JSON and JSONB parsed). Passed
 * per pool, so the driver's global parsers stay untouched.
 */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

/** The SQLSTATE of a driver error, when it is one. */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** A named SQL statement: the driver prepares it once per connection and reuses the plan. */
export interface Statement {
  readonly name: string;
  readonly text: string;
}

/** A pool or a client holding a transaction: what the shared loads below run on. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

const IDENTIFIERS: Statement = {
  name: 'kith_identifiers',
  text: `SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = $1 AND key = ANY($2::text[])`,
};

const EVIDENCE: Statement = {
  name: 'kith_evidence',
  text: `
    SELECT ${EVIDENCE_COLUMNS} FROM messages m
    WHERE m.ws = $1 AND m.seq IN (
      SELECT e.seq FROM identifiers i JOIN evidence e ON e.ws = i.ws AND e.ident = i.id
      WHERE i.ws = $1 AND i.key = ANY($2::text[]))
    ORDER BY m.seq`,
};

/** Both halves in one round trip: rows of each table aggregated as JSON (same shapes as above). */
const COMPONENT_MEMBERS: Statement = {
  name: 'kith_component_members',
  text: `
    WITH p AS (SELECT ${PROFILE_COLUMNS} FROM profiles WHERE ws = $1 AND component = ANY($2::text[]))
    SELECT
      (SELECT coalesce(json_agg(p), '[]'::json) FROM p) AS profiles,
      (SELECT coalesce(json_agg(i), '[]'::json) FROM (
        SELECT ${IDENTIFIER_COLUMNS} FROM identifiers WHERE ws = $1 AND profile IN (SELECT id FROM p)) i) AS identifiers`,
};

/** Shared by the write and read sides: identifiers by key. */
export async function selectIdentifiers(db: Queryable, ws: string, keys: readonly string[]): Promise<IdentifierState[]> {
  if (keys.length === 0) return [];
  return (await db.query<IdentifierRow>({ ...IDENTIFIERS, values: [ws, keys] })).rows.map(toIdentifier);
}

/** Shared by the write and read sides: every message carrying any of the keys, once each. */
export async function selectEvidence(db: Queryable, ws: string, keys: readonly string[]): Promise<EvidenceMessage[]> {
  if (keys.length === 0) return [];
  return (await db.query<EvidenceRow>({ ...EVIDENCE, values: [ws, keys] })).rows.map(toEvidence);
}

/** Shared by the write and read sides: the profiles of some components and all their identifiers. */
export async function selectComponentMembers(
  db: Queryable,
  ws: string,
  componentIds: readonly string[],
): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }> {
  if (componentIds.length === 0) return { profiles: [], identifiers: [] };
  const { rows } = await db.query<{ profiles: ProfileRow[]; identifiers: IdentifierRow[] }>({ ...COMPONENT_MEMBERS, values: [ws, componentIds] });
  const row = rows[0];
  return { profiles: (row?.profiles ?? []).map(toProfile), identifiers: (row?.identifiers ?? []).map(toIdentifier) };
}
