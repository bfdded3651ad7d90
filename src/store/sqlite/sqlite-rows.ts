import type { IdentifierKey } from '../../identity/identifier.ts';
import type { EvidenceMessage, IdentifierState, ProfileId, ProfileState } from '../ports.ts';
import type { JsonObject, MessageType } from '../../spec/segment-message.ts';

/** Row shapes as SQLite returns them; mapped to port types at this boundary only. */
export interface IdentifierRow {
  id: number;
  key: string;
  profile: string | null;
  quarantined: number;
  peers: string;
}

export const IDENTIFIER_COLUMNS = 'id, key, profile, quarantined, peers';

export function toIdentifier(row: IdentifierRow): IdentifierState {
  return {
    key: row.key as IdentifierKey,
    profileId: row.profile as ProfileId | null,
    quarantined: row.quarantined === 1,
    peers: JSON.parse(row.peers) as Record<string, IdentifierKey[]>,
  };
}

export interface ProfileRow {
  id: string;
  component: string;
  founder: string;
  founder_t: number;
  founder_m: string;
  founder_pos: number;
  traits: string;
  counts: string;
  first_t: number;
  last_t: number;
  consent: string;
}

export const PROFILE_COLUMNS = 'id, component, founder, founder_t, founder_m, founder_pos, traits, counts, first_t, last_t, consent';

export function toProfile(row: ProfileRow): ProfileState {
  return {
    id: row.id as ProfileId,
    componentId: row.component,
    founder: row.founder as IdentifierKey,
    founderT: row.founder_t,
    founderM: row.founder_m,
    founderPos: row.founder_pos,
    traits: JSON.parse(row.traits) as ProfileState['traits'],
    counts: JSON.parse(row.counts) as Record<string, number>,
    firstT: row.first_t,
    lastT: row.last_t,
    consent: JSON.parse(row.consent) as ProfileState['traits'],
  };
}

export interface EvidenceRow {
  message_id: string;
  type: string;
  t: number;
  source: string;
  keys: string;
  primary_key: string | null;
  traits: string | null;
  consent: string | null;
}

/** Selects what re-resolution needs; `traits` is extracted by SQLite so bodies are not parsed here. */
export const EVIDENCE_COLUMNS = `m.message_id, m.type, m.t, m.source, m.keys,
  (SELECT key FROM identifiers WHERE id = m.primary_ident) AS primary_key,
  CASE WHEN m.type = 'identify' THEN json_extract(m.body, '$.traits') END AS traits,
  CASE WHEN json_type(m.body, '$.context.consent.categoryPreferences') = 'object'
    THEN json_extract(m.body, '$.context.consent.categoryPreferences') END AS consent`;

export function toEvidence(row: EvidenceRow): EvidenceMessage {
  return {
    messageId: row.message_id,
    type: row.type as MessageType,
    t: row.t,
    source: row.source,
    keys: JSON.parse(row.keys) as IdentifierKey[],
    primary: row.primary_key as IdentifierKey | null,
    traits: row.traits === null ? null : (JSON.parse(row.traits) as JsonObject),
    ...(row.consent === null ? {} : { consent: JSON.parse(row.consent) as JsonObject }),
  };
}
