import type { MessageCheck, MessageProblem, MessageType } from '../spec/segment-message.ts';
import { validateBatch, validateMessage } from '../spec/validate-message.ts';
import type { RejectedRecord, Workspace } from '../store/ports.ts';
import { prepareMessage } from './prepare-message.ts';
import { SUPPRESSED_REASON } from '../privacy/suppression.ts';
import type { MessageOutcome, PreparedMessage } from '../identity/resolve-batch.ts';

export interface RejectedMessage {
  readonly index: number;
  readonly messageId: string | null;
  readonly code: string;
  readonly reason: string;
  readonly field?: string;
}

/**
 * Where accepted messages go: the group committer (resolve here, in this process), or an intake
 * stream (src/bus/) that answers `queued` for messages that are durable but not yet resolved.
 */
export interface MessageSink {
  submit(ws: Workspace, messages: readonly PreparedMessage[], rejected: readonly RejectedRecord[]): Promise<Map<string, MessageOutcome | 'queued'>>;
}

export type IngestResult =
  | { ok: true; accepted: number; duplicates: number; queued: number; rejected: RejectedMessage[] }
  | { ok: false; problem: MessageProblem; rejected: RejectedMessage[] };

const MAX_REJECTED_BODY = 8 * 1024;

/**
 * The write path shared by the tracking API (and later file imports): validate each message,
 * extract its identifiers, resolve the valid ones through group commit, and keep the invalid ones
 * where an operator can list them. Invalid neighbours never stop valid messages.
 */
export class IngestService {
  constructor(
    private readonly sink: MessageSink,
    private readonly now: () => number = Date.now,
  ) {}

  /** One message from a typed endpoint (`POST /v1/track` ...). */
  async single(ws: Workspace, source: string, type: MessageType, raw: unknown): Promise<IngestResult> {
    const receivedAt = this.now();
    const check = validateMessage(raw, { type, receivedAt });
    return this.process(ws, source, [check], [raw], receivedAt, false);
  }

  /** A `/v1/batch` or `/v1/import` body. */
  async batch(ws: Workspace, source: string, raw: unknown): Promise<IngestResult> {
    const receivedAt = this.now();
    const checked = validateBatch(raw, { receivedAt });
    if (!checked.ok) return { ok: false, problem: checked.problem, rejected: [] };
    const items = (raw as { batch: unknown[] }).batch;
    return this.process(ws, source, checked.results, items, receivedAt, true);
  }

  private async process(ws: Workspace, source: string, checks: MessageCheck[], raws: unknown[], receivedAt: number, isBatch: boolean): Promise<IngestResult> {
    const prepared: PreparedMessage[] = [];
    const preparedIndex: number[] = [];
    const rejected: RejectedMessage[] = [];
    const records: RejectedRecord[] = [];
    checks.forEach((check, index) => {
      if (check.ok) {
        prepared.push(prepareMessage(check.message, source, ws.rules).prepared);
        preparedIndex.push(index);
        return;
      }
      const raw = raws[index];
      const messageId = messageIdOf(raw);
      rejected.push({ index, messageId, code: check.problem.code, reason: check.problem.message, ...(check.problem.field === undefined ? {} : { field: check.problem.field }) });
      records.push({
        receivedAt,
        index: isBatch ? index : null,
        messageId,
        code: check.problem.code,
        reason: check.problem.message,
        field: check.problem.field ?? null,
        body: truncate(safeStringify(raw)),
        source,
      });
    });

    const outcomes = await this.sink.submit(ws, prepared, records);
    if (prepared.length === 0) {
      const first = rejected[0]!;
      const problem: MessageProblem = isBatch
        ? { code: 'invalid_batch', message: `all ${rejected.length} messages were rejected; see "rejected"` }
        : { code: first.code, message: first.reason, ...(first.field === undefined ? {} : { field: first.field }) };
      return { ok: false, problem, rejected };
    }
    let accepted = 0;
    let queued = 0;
    for (const outcome of outcomes.values()) {
      if (outcome === 'accepted') accepted++;
      else if (outcome === 'queued') queued++;
    }
    // Messages of erased people are refused, listed like invalid ones (their bodies are not logged).
    let suppressed = 0;
    prepared.forEach((m, i) => {
      if (outcomes.get(m.messageId) !== 'suppressed') return;
      suppressed++;
      rejected.push({ index: preparedIndex[i]!, messageId: m.messageId, code: 'suppressed', reason: SUPPRESSED_REASON });
    });
    if (suppressed > 0) rejected.sort((a, b) => a.index - b.index);
    return { ok: true, accepted, duplicates: prepared.length - accepted - queued - suppressed, queued, rejected };
  }
}

function messageIdOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as Record<string, unknown>).messageId;
  return typeof id === 'string' ? id.slice(0, 256) : typeof id === 'number' ? String(id) : null;
}

function safeStringify(raw: unknown): string {
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    // Nested too deeply for the stack (String() of such an array recurses and throws too).
    return '"[not stored: nested too deeply to serialise]"';
  }
}

function truncate(text: string): string {
  return text.length <= MAX_REJECTED_BODY ? text : `${text.slice(0, MAX_REJECTED_BODY)}…`;
}
