import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../spec/segment-message.ts';
import { parseEventTime } from './event-time.ts';
import type { ColumnMapping, ImportMapping, ValueType } from './import-mapping.ts';

/** One identifier as the row carries it, before normalisation (which the ingest path does). */
export interface RowIdentifier {
  readonly type: string;
  readonly value: string | number;
}

/**
 * A row turned into the parts of a Segment message: its id (derived from the source name and the
 * row key), identifiers, traits or properties, event name and time. `toRawMessage` assembles it.
 */
export interface RowDraft {
  readonly messageId: string;
  readonly type: 'identify' | 'track';
  readonly event?: string;
  readonly timestamp?: string;
  readonly identifiers: readonly RowIdentifier[];
  readonly payload: JsonObject;
}

/** Why a row is refused: a code for grouping and a reason naming the column and value. */
export interface RowProblem {
  readonly code: string;
  readonly reason: string;
  readonly field?: string;
}

export type RowResult = { ok: true; draft: RowDraft } | { ok: false; problem: RowProblem };

/**
 * Converts one record (CSV row as text cells, or an NDJSON/JSON object) by the mapping. Empty cells
 * (and JSON nulls) leave their field out; a value that does not read as its column's type, an
 * unparseable event time or an empty key rejects the row with the column named.
 */
export function rowToDraft(record: Readonly<Record<string, unknown>>, mapping: ImportMapping, source: string): RowResult {
  const keyParts: string[] = [];
  for (const column of mapping.key) {
    const v = cell(record, column);
    if (isEmpty(v)) return problem('missing_key', `key column "${column}" is empty`, column);
    keyParts.push(typeof v === 'string' ? v.trim() : JSON.stringify(v));
  }
  const messageId = rowMessageId(source, keyParts);

  let timestamp: string | undefined;
  if (mapping.timestamp !== undefined) {
    const { column, format } = mapping.timestamp;
    const v = cell(record, column);
    if (isEmpty(v)) return problem('invalid_date', `event time column "${column}" is empty`, column);
    const t = parseEventTime(v, format);
    if (!t.ok) return problem('invalid_date', `"${column}" value ${preview(v)} ${t.reason}`, column);
    timestamp = new Date(t.ms).toISOString();
  }

  let event = mapping.event;
  if (mapping.eventColumn !== undefined) {
    const v = cell(record, mapping.eventColumn);
    if (isEmpty(v) || typeof v !== 'string' || v.trim() === '') return problem('missing_event', `event column "${mapping.eventColumn}" is empty`, mapping.eventColumn);
    event = v.trim();
  }

  const identifiers: RowIdentifier[] = [];
  const payload: JsonObject = {};
  for (const c of mapping.columns) {
    const raw = cell(record, c.column);
    if (isEmpty(raw)) {
      if (c.required) return problem('missing_value', `required column "${c.column}" is empty`, c.column);
      continue;
    }
    const read = readValue(raw, c);
    if (!read.ok) return { ok: false, problem: read.problem };
    const value = read.value;
    if (c.identifier !== undefined) {
      const found = c.identifier === '*' ? identifiersOfObject(value, c.column) : identifiersOfValue(value, c.identifier, c.column);
      if (!found.ok) return found;
      identifiers.push(...found.identifiers);
    }
    const path = c.trait ?? c.property;
    if (path !== undefined) {
      if (path === '*') {
        if (!isObject(value)) return problem('invalid_value', `"${c.column}" must hold an object to spread into ${c.trait === undefined ? 'properties' : 'traits'}`, c.column);
        for (const [k, v] of Object.entries(value)) payload[k] = v;
      } else {
        setPath(payload, path, value);
      }
    }
  }
  return {
    ok: true,
    draft: { messageId, type: mapping.type, ...(event === undefined ? {} : { event }), ...(timestamp === undefined ? {} : { timestamp }), identifiers, payload },
  };
}

/**
 * The message id of an imported row: a hash of the source name and the row's key values, so a
 * re-import (the same file again, or the rest of an interrupted one) repeats ids that are then
 * no-ops, while the same key from another source is another message.
 */
export function rowMessageId(source: string, keyParts: readonly string[]): string {
  const hash = createHash('sha256').update(source);
  for (const part of keyParts) hash.update('\0').update(part);
  return `imp-${hash.digest('hex').slice(0, 32)}`;
}

/**
 * The Segment message for a draft: `userId` and `anonymousId` from the first identifiers of those
 * types, every other identifier in `context.externalIds` (which the ingest path reads with its own
 * type), traits for identify, properties and event for track. `keep` limits which identifiers go in
 * (enrichment sends only those the graph already knows).
 */
export function toRawMessage(draft: RowDraft, keep?: (id: RowIdentifier) => boolean): JsonObject {
  const ids = keep === undefined ? draft.identifiers : draft.identifiers.filter(keep);
  const message: JsonObject = { type: draft.type, messageId: draft.messageId };
  const externalIds: JsonObject[] = [];
  for (const id of ids) {
    if (id.type === 'user_id' && message.userId === undefined) message.userId = id.value;
    else if (id.type === 'anonymous_id' && message.anonymousId === undefined) message.anonymousId = id.value;
    else externalIds.push({ id: typeof id.value === 'number' ? String(id.value) : id.value, type: id.type, collection: 'users', encoding: 'none' });
  }
  if (draft.event !== undefined) message.event = draft.event;
  if (draft.timestamp !== undefined) message.timestamp = draft.timestamp;
  message[draft.type === 'identify' ? 'traits' : 'properties'] = draft.payload;
  message.context = externalIds.length === 0 ? {} : { externalIds };
  return message;
}

/** A cell by exact column name, else (JSON records) by dotted path. */
function cell(record: Readonly<Record<string, unknown>>, column: string): unknown {
  if (Object.hasOwn(record, column)) return record[column];
  if (!column.includes('.')) return undefined;
  let at: unknown = record;
  for (const part of column.split('.')) {
    if (!isObject(at) || !Object.hasOwn(at, part)) return undefined;
    at = at[part];
  }
  return at;
}

type ValueResult = { ok: true; value: JsonValue } | { ok: false; problem: RowProblem };

function readValue(raw: unknown, c: ColumnMapping): ValueResult {
  if (c.split !== undefined && typeof raw === 'string') {
    const parts = raw.split(c.split).map((p) => p.trim()).filter((p) => p !== '');
    const values: JsonValue[] = [];
    for (const p of parts) {
      const one = convert(p, c.type, c.column);
      if (!one.ok) return one;
      values.push(one.value);
    }
    return { ok: true, value: values };
  }
  if (Array.isArray(raw) && c.type !== undefined && c.type !== 'json') {
    const values: JsonValue[] = [];
    for (const p of raw) {
      const one = convert(p, c.type, c.column);
      if (!one.ok) return one;
      values.push(one.value);
    }
    return { ok: true, value: values };
  }
  // `*` columns of a CSV carry JSON text.
  const spread = c.identifier === '*' || c.trait === '*' || c.property === '*';
  return convert(raw, c.type ?? (spread && typeof raw === 'string' ? 'json' : undefined), c.column);
}

function convert(raw: unknown, type: ValueType | undefined, column: string): ValueResult {
  const bad = (what: string): ValueResult => ({ ok: false, problem: { code: 'invalid_value', reason: `"${column}" value ${preview(raw)} is not ${what}`, field: column } });
  switch (type) {
    case undefined:
      return isJson(raw) ? { ok: true, value: raw } : bad('a JSON value');
    case 'string':
      return { ok: true, value: typeof raw === 'string' ? raw : JSON.stringify(raw) };
    case 'number':
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(n)) return bad(type === 'integer' ? 'an integer' : 'a number');
      if (type === 'integer' && !Number.isInteger(n)) return bad('an integer');
      return { ok: true, value: n };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      const t = String(raw).trim().toLowerCase();
      if (['true', 'yes', 'y', '1'].includes(t)) return { ok: true, value: true };
      if (['false', 'no', 'n', '0'].includes(t)) return { ok: true, value: false };
      return bad('true or false');
    }
    case 'date': {
      const t = parseEventTime(raw, 'auto');
      return t.ok ? { ok: true, value: new Date(t.ms).toISOString() } : bad('a date');
    }
    case 'json': {
      if (typeof raw !== 'string') return isJson(raw) ? { ok: true, value: raw } : bad('a JSON value');
      try {
        return { ok: true, value: JSON.parse(raw) as JsonValue };
      } catch {
        return bad('JSON');
      }
    }
    default:
      return assertNever(type);
  }
}

type IdentifiersResult = { ok: true; identifiers: RowIdentifier[] } | { ok: false; problem: RowProblem };

function identifiersOfValue(value: JsonValue, type: string, column: string): IdentifiersResult {
  const values = Array.isArray(value) ? value : [value];
  const identifiers: RowIdentifier[] = [];
  for (const v of values) {
    if (v === null || v === '') continue;
    if (typeof v !== 'string' && typeof v !== 'number') return problem('invalid_value', `"${column}" holds ${preview(v)}, which is not an identifier value`, column);
    identifiers.push({ type, value: v });
  }
  return { ok: true, identifiers };
}

/** `{email: ["a@x.io"], user_id: "u1"}`: the shape `kith export` writes. */
function identifiersOfObject(value: JsonValue, column: string): IdentifiersResult {
  if (!isObject(value)) return problem('invalid_value', `"${column}" must hold an object of identifier type → value(s)`, column);
  const identifiers: RowIdentifier[] = [];
  for (const [type, v] of Object.entries(value)) {
    const found = identifiersOfValue(v, type.trim().toLowerCase(), column);
    if (!found.ok) return found;
    identifiers.push(...found.identifiers);
  }
  return { ok: true, identifiers };
}

function setPath(target: JsonObject, path: string, value: JsonValue): void {
  const parts = path.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) {
    const next = at[part];
    if (!isObject(next)) at[part] = {};
    at = at[part] as JsonObject;
  }
  at[parts[parts.length - 1]!] = value;
}

function isEmpty(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isJson(v: unknown): v is JsonValue {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || typeof v === 'object';
}

function preview(v: unknown): string {
  const text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function problem(code: string, reason: string, field?: string): { ok: false; problem: RowProblem } {
  return { ok: false, problem: field === undefined ? { code, reason } : { code, reason, field } };
}

function assertNever(value: never): never {
  throw new Error(`unexpected value ${String(value)}`);
}
