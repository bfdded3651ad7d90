import type { IdentifierKey } from '../identity/identifier.ts';
import { identifierKey } from '../identity/identifier.ts';
import { normaliseIdentifier } from '../identity/normalise-identifier.ts';
import type { MessageOutcome, PreparedMessage } from '../identity/resolve-batch.ts';
import { prepareMessage } from '../ingest/prepare-message.ts';
import type { JsonObject, ValidMessage } from '../spec/segment-message.ts';
import { validateMessage } from '../spec/validate-message.ts';
import type { ProfileId, ReadPort, RejectedRecord, Workspace } from '../store/ports.ts';
import type { ImportMapping } from './import-mapping.ts';
import { rowConverter, toRawMessage, type RowDraft, type RowIdentifier, type RowResult } from './row-message.ts';
import type { SourceRecord } from './source-record.ts';

/** A row that was not imported: where it is in the file and why. */
export interface RejectedRow {
  readonly line: number;
  readonly code: string;
  readonly reason: string;
  readonly field?: string;
  readonly record?: Readonly<Record<string, unknown>>;
}

export interface ImportSummary {
  readonly rowsRead: number;
  readonly accepted: number;
  /** Rows whose message id was already stored: imported before (a re-run) or repeated in the file. */
  readonly duplicates: number;
  readonly rejected: number;
  readonly newProfiles: number;
  readonly merges: number;
  /** Enrichment only: rows that matched one existing profile, and rows skipped. */
  readonly matched: number;
  readonly unmatched: number;
  readonly ambiguous: number;
  readonly durationMs: number;
  readonly interrupted: boolean;
}

export interface ImportProgress {
  readonly rowsRead: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
  readonly elapsedMs: number;
}

/** Where messages go: the group committer (resolved and durable when the promise settles). */
export interface ImportSink {
  submit(ws: Workspace, messages: readonly PreparedMessage[], rejected: readonly RejectedRecord[]): Promise<Map<string, MessageOutcome | 'queued'>>;
}

export interface ImportOptions {
  readonly source: string;
  readonly mapping: ImportMapping;
  /** Add traits to profiles that exist; create none (see `enrich`). */
  readonly enrichOnly?: boolean;
  /** Rows per batch (default `DEFAULT_BATCH_ROWS`): each batch is resolved and visible before the next one goes in. */
  readonly batchSize?: number;
  readonly onReject?: (row: RejectedRow) => void | Promise<void>;
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Stop reading when aborted; rows already read are committed, the summary says `interrupted`. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

/** Placeholder that lets a row without a user or anonymous id through the Tracking API's check. */
const PLACEHOLDER_ID = 'kith-import-placeholder';

/**
 * Rows per batch by default. A batch is the unit of read-your-writes and of the profile counts;
 * the writer resolves it in transactions of up to `CHUNK_ROWS` (or more, when the group committer
 * joins queued chunks), so that one transaction's disk sync overlaps the next one's resolution.
 * The batch being read and the one at the writer are most of the import's live memory; 5000-row
 * batches were no faster and raised the peak RSS by about 40 MB.
 */
export const DEFAULT_BATCH_ROWS = 2000;
const CHUNK_ROWS = 1000;

interface PendingRow {
  readonly line: number;
  readonly prepared: PreparedMessage;
  /** Kept for enrichment only, which may send the row again with fewer identifiers. */
  readonly draft?: RowDraft;
  readonly record?: Readonly<Record<string, unknown>>;
}

/** A batch handed to the writer: its identifiers as they were before it, and its outcomes to come. */
interface Submitted {
  readonly keys: readonly IdentifierKey[];
  readonly before: ReadonlyMap<IdentifierKey, ProfileId | null>;
  readonly written: Promise<{ accepted: number; duplicates: number }>;
}

/**
 * Imports records through exactly the path live messages take: each row becomes a Segment message
 * (`row-message.ts`), is validated by the Tracking API's validator, has its identifiers extracted
 * and normalised under the workspace's rules, and is resolved by the group committer, a batch at a
 * time: a batch is durable and visible in its profiles before the next one is submitted, while the
 * next batch is read and converted. Bad rows go to `onReject` with their line and reason while the
 * rows around them are imported. Message ids derive from the source and the row key, so importing
 * the same file again, or re-running an interrupted import, changes nothing.
 *
 * New profiles and merges are counted per batch from its identifiers' profiles before and after it.
 * Both are read in one snapshot between two batches, taken as the next batch is handed over: the
 * writer starts on it while the snapshot is read, so the counting costs the writer no waiting.
 */
export async function importRecords(
  deps: { read: ReadPort; sink: ImportSink },
  ws: Workspace,
  records: AsyncIterable<SourceRecord>,
  options: ImportOptions,
): Promise<ImportSummary> {
  const now = options.now ?? Date.now;
  const started = performance.now();
  const batchSize = options.batchSize ?? DEFAULT_BATCH_ROWS;
  const enrichOnly = options.enrichOnly === true;
  const convert = rowConverter(options.mapping, options.source);
  const counts = { rowsRead: 0, accepted: 0, duplicates: 0, rejected: 0, newProfiles: 0, merges: 0, matched: 0, unmatched: 0, ambiguous: 0 };
  const reject = async (row: RejectedRow): Promise<void> => {
    counts.rejected++;
    await options.onReject?.(row);
  };
  const progress = (): void => options.onProgress?.({ rowsRead: counts.rowsRead, accepted: counts.accepted, duplicates: counts.duplicates, rejected: counts.rejected, elapsedMs: performance.now() - started });

  const submit = (rows: readonly PendingRow[]): Promise<{ accepted: number; duplicates: number }> => {
    const parts: Array<Promise<Map<string, MessageOutcome | 'queued'>>> = [];
    for (let i = 0; i < rows.length; i += CHUNK_ROWS) parts.push(deps.sink.submit(ws, rows.slice(i, i + CHUNK_ROWS).map((r) => r.prepared), []));
    const written = Promise.all(parts).then((outcomes) => {
      let accepted = 0;
      for (const o of outcomes) for (const v of o.values()) if (v !== 'duplicate') accepted++;
      return { accepted, duplicates: rows.length - accepted };
    });
    // A failed write must surface when it is awaited, even while the next batch is being read.
    written.catch(() => undefined);
    return written;
  };

  /**
   * Waits for the batch at the writer, then hands `next` over (none at the end). The profiles of
   * both batches' identifiers are read in one snapshot: after the previous batch, before the next.
   */
  const handOver = async (previous: Submitted | undefined, next: readonly PendingRow[]): Promise<Submitted | undefined> => {
    if (previous !== undefined) {
      const { accepted, duplicates } = await previous.written;
      counts.accepted += accepted;
      counts.duplicates += duplicates;
    }
    const nextKeys = uniqueKeys(next);
    const keys = previous === undefined ? nextKeys : [...new Set([...previous.keys, ...nextKeys])];
    let written: Promise<{ accepted: number; duplicates: number }> | undefined;
    let profiles: Map<IdentifierKey, ProfileId | null>;
    if (enrichOnly) {
      // Which rows go in depends on the graph as it is now: read first, then send.
      profiles = await deps.read.identifierProfiles(ws.id, keys);
      const rows = await enrich(next, profiles, ws, reject, counts, now);
      written = submit(rows);
    } else {
      profiles = await deps.read.identifierProfiles(ws.id, keys, () => {
        if (next.length > 0) written = submit(next);
      });
    }
    if (previous !== undefined) {
      const delta = profileDelta(previous.keys, previous.before, profiles);
      counts.newProfiles += delta.newProfiles;
      counts.merges += delta.merges;
    }
    progress();
    if (written === undefined) return undefined;
    const before = new Map<IdentifierKey, ProfileId | null>();
    for (const k of nextKeys) {
      const p = profiles.get(k);
      if (p !== undefined) before.set(k, p);
    }
    return { keys: nextKeys, before, written };
  };

  let batch: PendingRow[] = [];
  let inFlight: Submitted | undefined;
  let interrupted = false;
  for await (const item of records) {
    if (options.signal?.aborted === true) {
      interrupted = true;
      break;
    }
    counts.rowsRead++;
    if (counts.rowsRead % 1000 === 0) progress();
    if (!item.ok) {
      await reject({ line: item.line, code: item.code, reason: item.reason });
      continue;
    }
    const row = prepareRow(convert(item.record), ws, options.source, now());
    if (!row.ok) {
      await reject({ line: item.line, ...row.problem, record: item.record });
      continue;
    }
    batch.push(enrichOnly ? { line: item.line, prepared: row.prepared, draft: row.draft, record: item.record } : { line: item.line, prepared: row.prepared });
    if (batch.length >= batchSize) {
      inFlight = await handOver(inFlight, batch);
      batch = [];
    }
  }
  if (batch.length > 0) inFlight = await handOver(inFlight, batch);
  if (inFlight !== undefined) await handOver(inFlight, []);
  progress();
  return { ...counts, durationMs: performance.now() - started, interrupted };
}

function uniqueKeys(rows: readonly PendingRow[]): IdentifierKey[] {
  const keys = new Set<IdentifierKey>();
  for (const r of rows) for (const k of r.prepared.keys) keys.add(k);
  return [...keys];
}

type PreparedRow = { ok: true; draft: RowDraft; prepared: PreparedMessage } | { ok: false; problem: { code: string; reason: string; field?: string } };

/** Row → draft → Segment message → the Tracking API's validation → identifiers under the rules. */
function prepareRow(converted: RowResult, ws: Workspace, source: string, receivedAt: number): PreparedRow {
  if (!converted.ok) return converted;
  return prepareDraft(converted.draft, ws, source, receivedAt);
}

function prepareDraft(draft: RowDraft, ws: Workspace, source: string, receivedAt: number, keep?: (id: RowIdentifier) => boolean, dropTraits?: ReadonlySet<string>): PreparedRow {
  const raw = toRawMessage(draft, keep);
  if (dropTraits !== undefined && raw.traits !== undefined) {
    const traits = { ...(raw.traits as JsonObject) };
    for (const t of dropTraits) delete traits[t];
    raw.traits = traits;
  }
  // The Tracking API asks every message for a userId or anonymousId; a file row may be keyed by
  // an email or a loyalty number alone. The row's own requirement (at least one identifier that
  // survives normalisation) is checked below instead, so the placeholder never reaches the store.
  const placeholder = raw.userId === undefined && raw.anonymousId === undefined;
  if (placeholder) raw.anonymousId = PLACEHOLDER_ID;
  const check = validateMessage(raw, { receivedAt });
  if (!check.ok) {
    const { code, message: reason, field } = check.problem;
    return { ok: false, problem: field === undefined ? { code, reason } : { code, reason, field } };
  }
  let message: ValidMessage = check.message;
  if (placeholder) {
    const { anonymousId: _placeholder, ...rest } = message;
    message = rest;
  }
  const { prepared, ignored } = prepareMessage(message, source, ws.rules);
  if (prepared.keys.length === 0) {
    const why = ignored.length === 0 ? '' : `: ${ignored.map((i) => i.reason).join('; ')}`;
    return { ok: false, problem: { code: 'no_identifier', reason: `the row has no usable identifier${why}` } };
  }
  return { ok: true, draft, prepared };
}

/**
 * Enrichment: a row may only add to a profile that already exists. Its identifiers are looked up;
 * a row none of whose identifiers belongs to a profile is skipped (counted as unmatched), and a
 * row whose identifiers belong to two or more profiles is rejected (enrichment never merges). A
 * matching row is sent with only the identifiers the graph already knows, and without traits that
 * would add new identifiers (email, phone, the workspace's trait identifiers), so bought or
 * partner data can neither create profiles nor attach unverified identifiers to them.
 */
async function enrich(
  batch: readonly PendingRow[],
  profilesNow: ReadonlyMap<IdentifierKey, ProfileId | null>,
  ws: Workspace,
  reject: (row: RejectedRow) => Promise<void>,
  counts: { matched: number; unmatched: number; ambiguous: number },
  now: () => number,
): Promise<PendingRow[]> {
  const known = new Map<IdentifierKey, ProfileId>();
  for (const [k, p] of profilesNow) if (p !== null) known.set(k, p);
  const out: PendingRow[] = [];
  for (const row of batch) {
    const profiles = new Set<string>();
    for (const k of row.prepared.keys) {
      const p = known.get(k);
      if (p !== undefined) profiles.add(p);
    }
    if (profiles.size === 0) {
      counts.unmatched++;
      continue;
    }
    if (profiles.size > 1) {
      counts.ambiguous++;
      await reject({ line: row.line, code: 'ambiguous_match', reason: `the row's identifiers belong to ${profiles.size} different profiles; enrichment never merges profiles`, record: row.record });
      continue;
    }
    counts.matched++;
    if (row.prepared.keys.every((k) => known.has(k))) {
      out.push(row);
      continue;
    }
    const keyOf = (type: string, value: unknown): IdentifierKey | undefined => {
      const n = normaliseIdentifier(type, value, ws.rules);
      return n.ok ? identifierKey(type, n.value) : undefined;
    };
    const keep = (id: RowIdentifier): boolean => {
      const k = keyOf(id.type, id.value);
      return k !== undefined && known.has(k);
    };
    const identifierTraits: Array<[string, string]> = [['email', 'email'], ['phone', 'phone'], ...Object.entries(ws.rules.traitIdentifiers)];
    const draft = row.draft;
    if (draft === undefined) throw new Error('enrichment needs each row\'s draft');
    const drop = new Set<string>();
    for (const [trait, type] of identifierTraits) {
      const v = draft.payload[trait];
      if (v === undefined || v === null || v === '') continue;
      const k = keyOf(type, v);
      if (k === undefined || !known.has(k)) drop.add(trait);
    }
    const again = prepareDraft(draft, ws, row.prepared.source, now(), keep, drop);
    if (!again.ok || !again.prepared.keys.every((k) => known.has(k))) {
      counts.matched--;
      counts.unmatched++;
      continue;
    }
    out.push({ ...row, prepared: again.prepared });
  }
  return out;
}

/**
 * What a batch did to the profiles of its identifiers, from their state before and after it:
 * profiles that now hold only identifiers which had none before are new; pre-existing profiles
 * that came to share one are merges.
 */
function profileDelta(
  keys: readonly IdentifierKey[],
  before: ReadonlyMap<IdentifierKey, ProfileId | null>,
  after: ReadonlyMap<IdentifierKey, ProfileId | null>,
): { newProfiles: number; merges: number } {
  const oldProfiles = new Set<string>();
  const oldAfter = new Set<string>();
  const newAfter = new Set<string>();
  for (const k of keys) {
    const now = after.get(k);
    if (now === undefined) continue;
    const was = before.get(k) ?? null;
    if (was !== null) {
      oldProfiles.add(was);
      if (now !== null) oldAfter.add(now);
    } else if (now !== null) {
      newAfter.add(now);
    }
  }
  let newProfiles = 0;
  for (const p of newAfter) if (!oldAfter.has(p)) newProfiles++;
  return { newProfiles, merges: Math.max(0, oldProfiles.size - oldAfter.size) };
}
