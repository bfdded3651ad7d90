import { hash } from 'node:crypto';
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

/** Converts one record by its mapping; see `rowConverter`. */
export type RowConverter = (record: Readonly<Record<string, unknown>>) => RowResult;

/**
 * Compiles a mapping into the function that converts one record (CSV row as text cells, or an
 * NDJSON/JSON object): the work that depends only on the mapping (value readers, trait paths) is
 * done once per file rather than once per row. Empty cells (and JSON nulls) leave their field out;
 * a value that does not read as its column's type, an unparseable event time or an empty key
 * rejects the row with the column named.
 */
export function rowConverter(mapping: ImportMapping, source: string): RowConverter {
  const columns = mapping.columns.map(compileColumn);
  const timestamp = mapping.timestamp;
  const eventColumn = mapping.eventColumn;
  return (record) => {
    const keyParts: string[] = [];
    for (const column of mapping.key) {
      const v = cell(record, column);
      if (isEmpty(v)) return problem('missing_key', `key column "${column}" is empty`, column);
      keyParts.push(typeof v === 'string' ? v.trim() : JSON.stringify(v));
    }
    const messageId = rowMessageId(source, keyParts);

    let time: string | undefined;
    if (timestamp !== undefined) {
      const { column, format } = timestamp;
      const v = cell(record, column);
      if (isEmpty(v)) return problem('invalid_date', `event time column "${column}" is empty`, column);
      const t = parseEventTime(v, format);
      if (!t.ok) return problem('invalid_date', `"${column}" value ${preview(v)} ${t.reason}`, column);
      time = new Date(t.ms).toISOString();
    }

    let event = mapping.event;
    if (eventColumn !== undefined) {
      const v = cell(record, eventColumn);
      if (isEmpty(v) || typeof v !== 'string' || v.trim() === '') return problem('missing_event', `event column "${eventColumn}" is empty`, eventColumn);
      event = v.trim();
    }

    const identifiers: RowIdentifier[] = [];
    const payload: JsonObject = {};
    for (const c of columns) {
      const raw = cell(record, c.column);
      if (isEmpty(raw)) {
        if (c.required) return problem('missing_value', `required column "${c.column}" is empty`, c.column);
        continue;
      }
      const read = c.read(raw);
      if (!read.ok) return read;
      const value = read.value;
      if (c.identifier !== undefined) {
        const found = c.identifier === '*' ? identifiersOfObject(value, c.column) : identifiersOfValue(value, c.identifier, c.column);
        if (!found.ok) return found;
        for (const id of found.identifiers) identifiers.push(id);
      }
      if (c.spread !== undefined) {
        if (!isObject(value)) return problem('invalid_value', `"${c.column}" must hold an object to spread into ${c.spread}`, c.column);
        for (const [k, v] of Object.entries(value)) payload[k] = v;
      } else if (c.path !== undefined) {
        setPath(payload, c.path, value);
      }
    }
    return {
      ok: true,
      draft: { messageId, type: mapping.type, ...(event === undefined ? {} : { event }), ...(time === undefined ? {} : { timestamp: time }), identifiers, payload },
    };
  };
}

/** A column's mapping with what can be decided once: how its cell is read, where its value goes. */
interface CompiledColumn {
  readonly column: string;
  readonly required: boolean;
  readonly identifier: string | undefined;
  readonly read: (raw: unknown) => ValueResult;
  /** `traits` or `properties` when the column spreads an object into them (`*`). */
  readonly spread: string | undefined;
  /** The trait or property path, split at its dots. */
  readonly path: readonly string[] | undefined;
}

function compileColumn(c: ColumnMapping): CompiledColumn {
  const target = c.trait ?? c.property;
  return {
    column: c.column,
    required: c.required,
    identifier: c.identifier,
    read: valueReader(c),
    spread: target === '*' ? (c.trait === undefined ? 'properties' : 'traits') : undefined,
    path: target === undefined || target === '*' ? undefined : target.split('.'),
  };
}

/**
 * The message id of an imported row: a hash of the source name and the row's key values, so a
 * re-import (the same file again, or the rest of an interrupted one) repeats ids that are then
 * no-ops, while the same key from another source is another message. (One hash of the joined text
 * equals the former hash fed part by part, so ids of earlier imports are unchanged.)
 */
export function rowMessageId(source: string, keyParts: readonly string[]): string {
  let text = source;
  for (const part of keyParts) text += `\0${part}`;
  return `imp-${hash('sha256', text, 'hex').slice(0, 32)}`;
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

/** How a column's cells are read: split into a list, each element converted, or converted whole. */
function valueReader(c: ColumnMapping): (raw: unknown) => ValueResult {
  // `*` columns of a CSV carry JSON text.
  const spread = c.identifier === '*' || c.trait === '*' || c.property === '*';
  const type = c.type;
  const column = c.column;
  const listOf = (parts: readonly unknown[]): ValueResult => {
    const values: JsonValue[] = [];
    for (const p of parts) {
      const one = convert(p, type, column);
      if (!one.ok) return one;
      values.push(one.value);
    }
    return { ok: true, value: values };
  };
  const split = c.split;
  return (raw) => {
    if (split !== undefined && typeof raw === 'string') return listOf(raw.split(split).map((p) => p.trim()).filter((p) => p !== ''));
    if (Array.isArray(raw) && type !== undefined && type !== 'json') return listOf(raw);
    return convert(raw, type ?? (spread && typeof raw === 'string' ? 'json' : undefined), column);
  };
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0']);

function convert(raw: unknown, type: ValueType | undefined, column: string): ValueResult {
  switch (type) {
    case undefined:
      return isJson(raw) ? { ok: true, value: raw } : notA(raw, column, 'a JSON value');
    case 'string':
      return { ok: true, value: typeof raw === 'string' ? raw : JSON.stringify(raw) };
    case 'number':
    case 'integer': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
      if (!Number.isFinite(n)) return notA(raw, column, type === 'integer' ? 'an integer' : 'a number');
      if (type === 'integer' && !Number.isInteger(n)) return notA(raw, column, 'an integer');
      return { ok: true, value: n };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw };
      const t = String(raw).trim().toLowerCase();
      if (TRUE_WORDS.has(t)) return { ok: true, value: true };
      if (FALSE_WORDS.has(t)) return { ok: true, value: false };
      return notA(raw, column, 'true or false');
    }
    case 'date': {
      const t = parseEventTime(raw, 'auto');
      return t.ok ? { ok: true, value: new Date(t.ms).toISOString() } : notA(raw, column, 'a date');
    }
    case 'json': {
      if (typeof raw !== 'string') return isJson(raw) ? { ok: true, value: raw } : notA(raw, column, 'a JSON value');
      try {
        return { ok: true, value: JSON.parse(raw) as JsonValue };
      } catch {
        return notA(raw, column, 'JSON');
      }
    }
    default:
      return assertNever(type);
  }
}

function notA(raw: unknown, column: string, what: string): ValueResult {
  return { ok: false, problem: { code: 'invalid_value', reason: `"${column}" value ${preview(raw)} is not ${what}`, field: column } };
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

function setPath(target: JsonObject, parts: readonly string[], value: JsonValue): void {
  let at = target;
  const last = parts.length - 1;
  for (let i = 0; i < last; i++) {
    const part = parts[i]!;
    const next = at[part];
    if (!isObject(next)) at[part] = {};
    at = at[part] as JsonObject;
  }
  at[parts[last]!] = value;
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
