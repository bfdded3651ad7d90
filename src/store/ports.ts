/**
 * Store ports: the only way identity, profile and API code reach storage. Every method is
 * asynchronous and batch-oriented (one call loads or writes many rows), so a networked store
 * (PostgreSQL) costs one round trip per call, not per row. Drivers normalise their quirks
 * (bigint, JSON, timestamps) before values cross this boundary.
 */
import type { IdentifierKey } from '../identity/identifier.ts';
import type { IdentityRules } from '../identity/rules.ts';
import type { JsonObject, JsonValue, MessageType } from '../spec/segment-message.ts';
import type { MatchRead, MatchTx } from './match-ports.ts';

declare const workspaceIdBrand: unique symbol;
declare const profileIdBrand: unique symbol;
export type WorkspaceId = string & { readonly [workspaceIdBrand]: true };
export type ProfileId = string & { readonly [profileIdBrand]: true };

export type KeyRole = 'write' | 'read' | 'admin';

export interface Workspace {
  readonly id: WorkspaceId;
  readonly name: string;
  readonly createdAt: number;
  readonly rules: IdentityRules;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly workspaceId: WorkspaceId;
  readonly role: KeyRole;
  /** First characters of the key, kept in clear so an operator can tell keys apart. */
  readonly prefix: string;
  readonly source: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** Survivorship record of one trait: its value and the event that set it. */
export interface TraitValue {
  readonly v: JsonValue;
  readonly t: number;
  readonly m: string;
}
export type TraitMap = Record<string, TraitValue>;

/** The canonical position of an event: event time, then message id. Sequence neutrality hangs on it. */
export interface EventKey {
  readonly t: number;
  readonly m: string;
}

export interface IdentifierState {
  readonly key: IdentifierKey;
  /** null while quarantined (a quarantined identifier links nobody) or while awaiting re-resolution. */
  profileId: ProfileId | null;
  quarantined: boolean;
  /** Distinct co-occurring identifiers of the quarantine peer types, capped at maxPeers + 1 each. */
  peers: Record<string, IdentifierKey[]>;
}

export interface ProfileState {
  readonly id: ProfileId;
  componentId: string;
  /**
   * The identifier whose first evidence (earliest message carrying it by event time, then message
   * id, then its position in that message) is the earliest in the profile; the id derives from it.
   * Identifiers do not store their first evidence: the founder's is kept here, and it is at or
   * before every member's, which is all the resolver needs to decide merges and re-keys.
   */
  founder: IdentifierKey;
  /** The founder's first evidence, so merges can compare ages without loading anything. */
  founderT: number;
  founderM: string;
  founderPos: number;
  traits: TraitMap;
  /** Consent per purpose (`context.consent.categoryPreferences`), by the same survivorship as traits. */
  consent?: TraitMap;
  /** Identifiers per type, for limits and metadata. */
  counts: Record<string, number>;
  firstT: number;
  lastT: number;
}

/**
 * The earliest stored message carrying an identifier (event time, then message id), derived from
 * the evidence at read time: where and when the identifier was first seen.
 */
export interface FirstEvidence {
  readonly t: number;
  readonly messageId: string;
  readonly source: string;
}

/** A connected component of the raw evidence graph (links refused by rules still connect). */
export interface ComponentState {
  readonly id: string;
  maxT: number;
  maxM: string;
}

export interface NewMessage {
  readonly messageId: string;
  readonly type: MessageType;
  readonly event: string | null;
  readonly t: number;
  readonly receivedAt: number;
  readonly source: string;
  /** Identifier keys in link order. */
  readonly keys: readonly IdentifierKey[];
  readonly primary: IdentifierKey | null;
  /** The validated message as JSON text. */
  readonly body: string;
}

/** What re-resolution needs to know about one stored message. */
export interface EvidenceMessage {
  readonly messageId: string;
  readonly type: MessageType;
  readonly t: number;
  readonly source: string;
  readonly keys: readonly IdentifierKey[];
  readonly primary: IdentifierKey | null;
  /** identify traits, when the message is an identify. */
  readonly traits: JsonObject | null;
  /** The message's `context.consent.categoryPreferences` object as stored, if any (unvalidated). */
  readonly consent?: JsonObject | null;
}

export interface RejectedRecord {
  readonly receivedAt: number;
  readonly index: number | null;
  readonly messageId: string | null;
  readonly code: string;
  readonly reason: string;
  readonly field: string | null;
  /** The offending message as received, truncated to a bounded size. */
  readonly body: string;
  readonly source: string;
}

export type HistoryKind = 'merge' | 'split' | 'rekey' | 'identifier_deleted' | 'quarantine';

export interface HistoryEntry {
  readonly kind: HistoryKind;
  /** The profile the entry is about (the survivor of a merge, the profile that split). */
  readonly profileId: ProfileId;
  /** Other profiles involved: the ones absorbed, or the parts of a split. */
  readonly related: readonly ProfileId[];
  readonly at: number;
  readonly messageId: string | null;
  readonly detail: JsonObject;
}

export interface HistoryRecord extends HistoryEntry {
  readonly seq: number;
}

/** Everything one unit of work changes, applied by the store in one transaction, in this order. */
export interface ChangeSet {
  readonly messages: readonly NewMessage[];
  /** `UPDATE identifiers SET profile = to WHERE profile = from`, in order. */
  readonly profileRepoints: ReadonlyArray<{ from: ProfileId; to: ProfileId }>;
  /** `UPDATE profiles SET component = to WHERE component = from`, in order. */
  readonly componentRepoints: ReadonlyArray<{ from: string; to: string }>;
  readonly identifiers: readonly IdentifierState[];
  readonly deletedIdentifiers: readonly IdentifierKey[];
  readonly profiles: readonly ProfileState[];
  readonly deletedProfiles: readonly ProfileId[];
  readonly components: readonly ComponentState[];
  readonly deletedComponents: readonly string[];
  readonly primaries: ReadonlyArray<{ messageId: string; primary: IdentifierKey | null }>;
  /** Identifiers whose evidence is removed from every message (identifier deletion), applied first. */
  readonly retractions: readonly IdentifierKey[];
  readonly history: readonly HistoryEntry[];
  /** Old profile id → the live profile ids it now resolves to. Live ids lose any redirect. */
  readonly redirects: ReadonlyArray<{ from: ProfileId; to: readonly ProfileId[] }>;
  readonly rejected: readonly RejectedRecord[];
}

/** What erasing a person removes, decided by the privacy service (see privacy/erase-person.ts). */
export interface ErasurePlan {
  /** Messages deleted with their bodies, evidence rows and rejected-log rows naming them. */
  readonly messageIds: readonly string[];
  /**
   * Rejected-log rows whose body, lower-cased, contains one of these (lower-cased JSON strings
   * such as `"jane@example.com"`, quotes included) are deleted too: invalid messages of the person.
   */
  readonly rejectedContaining: readonly string[];
  /** Profile ids whose history rows and redirects go (ids redirecting only to them go too). */
  readonly profileIds: readonly ProfileId[];
  /** Salted hashes of the erased identifiers, kept so that old messages cannot bring them back. */
  readonly suppress: readonly string[];
  readonly at: number;
}

export interface ErasureCounts {
  readonly messages: number;
  readonly rejected: number;
  readonly history: number;
  readonly redirects: number;
  /** Every profile id erased: the given ones and the old ids that redirected only to them. */
  readonly profileIds: readonly ProfileId[];
}

/** Erasure and suppression, inside a write transaction. */
export interface PrivacyTx {
  /**
   * The workspace's suppression salt. When it has none, `candidate` is stored and returned (null
   * candidate: returns null). On PostgreSQL this takes the workspace exclusively, so call it first.
   */
  suppressionSalt(ws: WorkspaceId, candidate: string | null): Promise<string | null>;
  /** The hashes among `hashes` on the workspace's suppression list. */
  suppressedHashes(ws: WorkspaceId, hashes: readonly string[]): Promise<Set<string>>;
  erase(ws: WorkspaceId, plan: ErasurePlan): Promise<ErasureCounts>;
}

/** A stored message in full, for exporting what is held about a person. */
export interface StoredMessage {
  readonly messageId: string;
  readonly type: MessageType;
  readonly t: number;
  readonly receivedAt: number;
  readonly source: string;
  readonly keys: readonly IdentifierKey[];
  readonly primary: IdentifierKey | null;
  readonly body: JsonObject;
}

/** Reads and writes inside one transaction of the write path. */
export interface WriteTx {
  readonly privacy: PrivacyTx;
  /** Probabilistic matching: records, blocking index, scored pairs, models (match-ports.ts). */
  readonly match: MatchTx;
  existingMessageIds(ws: WorkspaceId, messageIds: readonly string[]): Promise<Set<string>>;
  loadIdentifiers(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierState[]>;
  loadProfiles(ws: WorkspaceId, ids: readonly ProfileId[]): Promise<ProfileState[]>;
  loadComponents(ws: WorkspaceId, ids: readonly string[]): Promise<ComponentState[]>;
  /** Profiles (and their identifiers) belonging to the given components. */
  loadComponentMembers(ws: WorkspaceId, componentIds: readonly string[]): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }>;
  /** Every stored message that carries any of these identifiers, with its identifier keys. */
  loadEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<EvidenceMessage[]>;
  apply(ws: WorkspaceId, changes: ChangeSet): Promise<void>;
  /** Stored messages after a sequence number, in order, for workspace-wide re-resolution. */
  scanMessages(ws: WorkspaceId, afterSeq: number, limit: number): Promise<Array<{ seq: number; body: string; keys: IdentifierKey[] }>>;
  /**
   * Replaces the identifier keys of stored messages (after the rules changed how identifiers are
   * extracted). Identifiers not yet stored are created unresolved; re-resolution assigns them.
   */
  rewriteMessageKeys(ws: WorkspaceId, rows: ReadonlyArray<{ seq: number; keys: readonly IdentifierKey[] }>): Promise<void>;
  /** Deletes identifiers no stored message carries any more; returns how many. */
  deleteOrphanIdentifiers(ws: WorkspaceId): Promise<number>;
  /** Identifier keys in creation order, for walking a whole workspace. */
  scanIdentifierKeys(ws: WorkspaceId, afterKey: string | null, limit: number): Promise<IdentifierKey[]>;
  /** Lifts every quarantine, before quarantine is decided again from the evidence. */
  clearQuarantine(ws: WorkspaceId): Promise<void>;
}

export interface EventPage {
  readonly events: ReadonlyArray<{ messageId: string; type: MessageType; event: string | null; t: number; receivedAt: number; source: string; body: JsonObject }>;
  readonly next: string | null;
}

/** Read-only queries of the Profile API and CLI; they see the last committed state. */
export interface ReadPort {
  readonly match: MatchRead;
  findIdentifier(ws: WorkspaceId, key: IdentifierKey): Promise<IdentifierState | undefined>;
  loadIdentifiers(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<IdentifierState[]>;
  /**
   * The profile of each of these identifiers that exists (null while it is quarantined or awaiting
   * re-resolution), all as of one moment: for a writer comparing the graph before and after its own
   * writes (an import counts new profiles and merges). `meanwhile` is called once that moment is
   * fixed and before the answer is complete, so a write it starts is never seen, and on SQLite the
   * reading overlaps with it (the import hands the writer its next batch there).
   */
  identifierProfiles(ws: WorkspaceId, keys: readonly IdentifierKey[], meanwhile?: () => void): Promise<Map<IdentifierKey, ProfileId | null>>;
  loadProfile(ws: WorkspaceId, id: ProfileId): Promise<ProfileState | undefined>;
  redirectOf(ws: WorkspaceId, id: ProfileId): Promise<readonly ProfileId[] | undefined>;
  identifiersOf(ws: WorkspaceId, id: ProfileId): Promise<IdentifierState[]>;
  /**
   * First evidence of each of these identifiers (one query for all): the earliest stored message
   * carrying it. Identifiers no stored message carries are absent from the answer.
   */
  firstEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<Map<IdentifierKey, FirstEvidence>>;
  /** Events attributed to the profile, newest first; `cursor` is opaque, from a previous page. */
  eventsOf(ws: WorkspaceId, id: ProfileId, opts: { limit: number; cursor: string | null }): Promise<EventPage>;
  historyOf(ws: WorkspaceId, ids: readonly ProfileId[]): Promise<HistoryRecord[]>;
  listRejected(ws: WorkspaceId, opts: { limit: number; beforeSeq: number | null }): Promise<Array<RejectedRecord & { seq: number }>>;
  loadEvidence(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<EvidenceMessage[]>;
  loadComponentMembers(ws: WorkspaceId, componentIds: readonly string[]): Promise<{ profiles: ProfileState[]; identifiers: IdentifierState[] }>;
  stats(ws: WorkspaceId): Promise<{ messages: number; profiles: number; identifiers: number; rejected: number }>;
  /** Live profiles in id order after `afterId`, each with its identifiers: a keyset page for walking a whole workspace (export). */
  scanProfiles(ws: WorkspaceId, opts: { afterId: ProfileId | null; limit: number }): Promise<Array<{ profile: ProfileState; identifiers: IdentifierState[] }>>;
  /** Every stored message carrying any of these identifiers, in full, oldest first. */
  messagesCarrying(ws: WorkspaceId, keys: readonly IdentifierKey[]): Promise<StoredMessage[]>;
}

export interface AdminPort {
  createWorkspace(ws: { id: WorkspaceId; name: string; createdAt: number; rules: IdentityRules }): Promise<void>;
  workspaceByName(name: string): Promise<Workspace | undefined>;
  workspaceById(id: WorkspaceId): Promise<Workspace | undefined>;
  listWorkspaces(): Promise<Workspace[]>;
  /**
   * Saves the rules and, in the same statement, marks the workspace as not yet re-resolved under
   * them; returns that mark (a generation number) for `settleRules`.
   */
  setRules(ws: WorkspaceId, rules: IdentityRules): Promise<number>;
  /** Clears the mark once the workspace is re-resolved, unless a newer rules change set it again. */
  settleRules(ws: WorkspaceId, generation: number): Promise<void>;
  /** Workspaces whose last rules change was not followed through (a crash in between). */
  pendingRules(): Promise<Array<{ ws: WorkspaceId; generation: number }>>;
  addKey(key: ApiKeyRecord & { hash: string }): Promise<void>;
  keyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  listKeys(ws: WorkspaceId): Promise<ApiKeyRecord[]>;
  revokeKey(ws: WorkspaceId, id: string, at: number): Promise<boolean>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly admin: AdminPort;
  readonly read: ReadPort;
  /** Runs `fn` in one write transaction; commits when it resolves, rolls back when it throws. */
  write<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T>;
  /**
   * Makes deleted rows unrecoverable from the store's files, after an erasure. SQLite: deletes
   * already zero what they free (secure_delete); this checkpoints the WAL and truncates it.
   * PostgreSQL: VACUUMs the tables erasure deletes from (see docs on what that does not cover).
   */
  scrub(): Promise<{ complete: boolean; detail: string }>;
  close(): Promise<void>;
}
