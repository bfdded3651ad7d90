import type { IdentifierKey } from '../identity/identifier.ts';
import { identifierKey } from '../identity/identifier.ts';
import { normaliseIdentifier } from '../identity/normalise-identifier.ts';
import type { MessageOutcome, PreparedMessage } from '../identity/resolve-batch.ts';
import { prepareMessage } from '../ingest/prepare-message.ts';
import type { JsonObject, ValidMessage } from '../spec/segment-message.ts';
import { validateMessage } from '../spec/validate-message.ts';
import type { IdentifierState, ReadPort, RejectedRecord, Workspace } from '../store/ports.ts';
import type { ImportMapping } from './import-mapping.ts';
import { rowToDraft, toRawMessage, type RowDraft, type RowIdentifier } from './row-message.ts';
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
  /** Rows per batch (default 1000): each batch is resolved and visible before the next one goes in. */
  readonly batchSize?: number;
  readonly onReject?: (row: RejectedRow) => void | Promise<void>;
  readonly onProgress?: (progress: ImportProgress) => void;
  /** Stop reading when aborted; rows already read are committed, the summary says `interrupted`. */
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

/** Placeholder that lets a row without a user or anonymous id through the Tracking API's check. */
const PLACEHOLDER_ID = 'kith-import-placeholder';

interface PendingRow {
  readonly line: number;
  readonly record: Readonly<Record<string, unknown>>;
  readonly draft: RowDraft;
  readonly prepared: PreparedMessage;
}

/**
 * Imports records through exactly the path live messages take: each row becomes a Segment message
 * (`row-message.ts`), is validated by the Tracking API's validator, has its identifiers extracted
 * and normalised under the workspace's rules, and is resolved by the group committer, a batch at a
 * time: a batch is durable and visible in its profiles before the next one is submitted (reading
 * and converting the next batch overlaps with it). Bad rows go to `onReject` with their line and
 * reason while the rows around them are imported. Message ids derive from the source and the row
 * key, so importing the same file again, or re-running an interrupted import, changes nothing.
 */
export async function importRecords(
  deps: { read: ReadPort; sink: ImportSink },
  ws: Workspace,
  records: AsyncIterable<SourceRecord>,
  options: ImportOptions,
): Promise<ImportSummary> {
  const now = options.now ?? Date.now;
  const started = performance.now();
  const batchSize = options.batchSize ?? 1000;
  const counts = { rowsRead: 0, accepted: 0, duplicates: 0, rejected: 0, newProfiles: 0, merges: 0, matched: 0, unmatched: 0, ambiguous: 0 };
  const reject = async (row: RejectedRow): Promise<void> => {
    counts.rejected++;
    await options.onReject?.(row);
  };
  const progress = (): void => options.onProgress?.({ rowsRead: counts.rowsRead, accepted: counts.accepted, duplicates: counts.duplicates, rejected: counts.rejected, elapsedMs: performance.now() - started });

  const commit = async (batch: PendingRow[]): Promise<void> => {
    const keys = [...new Set(batch.flatMap((r) => r.prepared.keys))];
    const before = await deps.read.loadIdentifiers(ws.id, keys);
    let messages = batch;
    if (options.enrichOnly === true) messages = await enrich(batch, before, ws, reject, counts, now);
    if (messages.length > 0) {
      const outcomes = await deps.sink.submit(ws, messages.map((r) => r.prepared), []);
      let accepted = 0;
      for (const o of outcomes.values()) if (o !== 'duplicate') accepted++;
      counts.accepted += accepted;
      counts.duplicates += messages.length - accepted;
      const after = await deps.read.loadIdentifiers(ws.id, keys);
      const delta = profileDelta(before, after);
      counts.newProfiles += delta.newProfiles;
      counts.merges += delta.merges;
    }
    progress();
  };

  let batch: PendingRow[] = [];
  let inFlight: Promise<void> | undefined;
  let interrupted = false;
  for await (const item of records) {
    if (options.signal?.aborted === true) {
      interrupted = true;
      break;
    }
    counts.rowsRead++;
    if (!item.ok) {
      await reject({ line: item.line, code: item.code, reason: item.reason });
      continue;
    }
    const row = prepareRow(item.record, options.mapping, options.source, ws, now());
    if (!row.ok) {
      await reject({ line: item.line, ...row.problem, record: item.record });
      continue;
    }
    batch.push({ line: item.line, record: item.record, draft: row.draft, prepared: row.prepared });
    if (batch.length >= batchSize) {
      await inFlight;
      inFlight = commit(batch);
      // A failed commit must surface even while the next batch is being read.
      inFlight.catch(() => undefined);
      batch = [];
    }
  }
  await inFlight;
  if (batch.length > 0) await commit(batch);
  progress();
  return { ...counts, durationMs: performance.now() - started, interrupted };
}

type PreparedRow = { ok: true; draft: RowDraft; prepared: PreparedMessage } | { ok: false; problem: { code: string; reason: string; field?: string } };

/** Row → draft → Segment message → the Tracking API's validation → identifiers under the rules. */
function prepareRow(record: Readonly<Record<string, unknown>>, mapping: ImportMapping, source: string, ws: Workspace, receivedAt: number): PreparedRow {
  const converted = rowToDraft(record, mapping, source);
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
  batch: PendingRow[],
  before: IdentifierState[],
  ws: Workspace,
  reject: (row: RejectedRow) => Promise<void>,
  counts: { matched: number; unmatched: number; ambiguous: number },
  now: () => number,
): Promise<PendingRow[]> {
  const known = new Map<IdentifierKey, string>();
  for (const s of before) if (s.profileId !== null && !s.quarantined) known.set(s.key, s.profileId);
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
    const drop = new Set<string>();
    for (const [trait, type] of identifierTraits) {
      const v = row.draft.payload[trait];
      if (v === undefined || v === null || v === '') continue;
      const k = keyOf(type, v);
      if (k === undefined || !known.has(k)) drop.add(trait);
    }
    const again = prepareDraft(row.draft, ws, row.prepared.source, now(), keep, drop);
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
function profileDelta(before: IdentifierState[], after: IdentifierState[]): { newProfiles: number; merges: number } {
  const previous = new Map<string, string | null>();
  for (const s of before) previous.set(s.key, s.profileId);
  const oldProfiles = new Set<string>();
  const oldAfter = new Set<string>();
  const newAfter = new Set<string>();
  for (const s of after) {
    const was = previous.get(s.key) ?? null;
    if (was !== null) {
      oldProfiles.add(was);
      if (s.profileId !== null) oldAfter.add(s.profileId);
    } else if (s.profileId !== null) {
      newAfter.add(s.profileId);
    }
  }
  let newProfiles = 0;
  for (const p of newAfter) if (!oldAfter.has(p)) newProfiles++;
  return { newProfiles, merges: Math.max(0, oldProfiles.size - oldAfter.size) };
}
