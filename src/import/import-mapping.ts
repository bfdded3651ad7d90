import { parse as parseYaml, YAMLParseError } from 'yaml';
import { IDENTIFIER_TYPE_PATTERN } from '../identity/identifier.ts';

/** How one cell's text (or JSON value) is read before it is used. */
export type ValueType = 'string' | 'number' | 'integer' | 'boolean' | 'date' | 'json';
const VALUE_TYPES: readonly ValueType[] = ['string', 'number', 'integer', 'boolean', 'date', 'json'];

/** How an event time column is written: ISO-8601 (also `YYYY-MM-DD hh:mm:ss` and dates), or epoch. */
export type TimeFormat = 'auto' | 'iso' | 'epoch_s' | 'epoch_ms';
const TIME_FORMATS: readonly TimeFormat[] = ['auto', 'iso', 'epoch_s', 'epoch_ms'];

/** What one column carries. `*` spreads an object: `{type: value | [values]}` or `{trait: value}`. */
export interface ColumnMapping {
  readonly column: string;
  /** Identifier type (`email`, `loyalty_id`, ...) or `*`. */
  readonly identifier?: string;
  /** Trait path, dotted for nesting (`address.city`), or `*`. identify only. */
  readonly trait?: string;
  /** Event property path, dotted for nesting, or `*`. track only. */
  readonly property?: string;
  readonly type?: ValueType;
  /** Splits a text cell into several values (several identifiers, or a list). */
  readonly split?: string;
  /** An empty cell rejects the row instead of leaving the field out. */
  readonly required: boolean;
}

/**
 * A parsed import mapping: whether each row is an `identify` or a `track` (with a fixed event
 * name or a column holding it), which columns key the row (its message id derives from them and
 * the source name), which column holds the event time, and what every other column carries.
 */
export interface ImportMapping {
  readonly type: 'identify' | 'track';
  readonly event?: string;
  readonly eventColumn?: string;
  readonly key: readonly string[];
  readonly timestamp?: { readonly column: string; readonly format: TimeFormat };
  readonly columns: readonly ColumnMapping[];
  readonly csv: { readonly delimiter?: string };
}

export type MappingResult = { ok: true; mapping: ImportMapping } | { ok: false; message: string; field?: string };

const TOP_KEYS = ['type', 'event', 'eventColumn', 'key', 'timestamp', 'columns', 'csv'] as const;
const COLUMN_KEYS = ['identifier', 'trait', 'property', 'type', 'split', 'required'] as const;

/**
 * Parses a mapping file's text, JSON or YAML (YAML is read for anything that does not start with
 * `{`), and checks it completely, so that a mistake is reported, naming the field, before a single
 * row is read. Unknown keys are mistakes too: a misspelt `identifer` would otherwise silently drop
 * a column.
 */
export function parseImportMapping(text: string): MappingResult {
  let doc: unknown;
  const trimmed = text.trimStart();
  try {
    doc = trimmed.startsWith('{') ? JSON.parse(trimmed) : parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (err instanceof YAMLParseError) return { ok: false, message: `mapping is not valid YAML: ${err.message.split('\n')[0]}` };
    return { ok: false, message: `mapping is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  return checkMapping(doc);
}

/** Checks an already parsed mapping document (for example a JSON body part). */
export function checkMapping(doc: unknown): MappingResult {
  if (!isObject(doc)) return fail('the mapping must be an object with "type", "key" and "columns"');
  const unknown = Object.keys(doc).find((k) => !(TOP_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) return fail(`unknown mapping field "${unknown}" (fields: ${TOP_KEYS.join(', ')})`, unknown);

  const type = doc.type;
  if (type !== 'identify' && type !== 'track') return fail('type must be "identify" or "track"', 'type');

  const event = doc.event;
  const eventColumn = doc.eventColumn;
  if (type === 'track') {
    if (event === undefined && eventColumn === undefined) return fail('a track mapping needs "event" (the event name) or "eventColumn" (the column holding it)', 'event');
    if (event !== undefined && eventColumn !== undefined) return fail('give "event" or "eventColumn", not both', 'event');
    if (event !== undefined && (typeof event !== 'string' || event.trim() === '')) return fail('event must be a non-empty string', 'event');
    if (eventColumn !== undefined && !isColumnName(eventColumn)) return fail('eventColumn must be a column name', 'eventColumn');
  } else if (event !== undefined || eventColumn !== undefined) {
    return fail('"event" and "eventColumn" are for track mappings; this one is identify', event !== undefined ? 'event' : 'eventColumn');
  }

  const keyRaw = doc.key;
  const key = typeof keyRaw === 'string' ? [keyRaw] : keyRaw;
  if (!Array.isArray(key) || key.length === 0 || !key.every(isColumnName)) {
    return fail('key must name the column (or list of columns) that identifies a row, e.g. key: customer_id', 'key');
  }

  let timestamp: ImportMapping['timestamp'];
  if (doc.timestamp !== undefined) {
    const t = typeof doc.timestamp === 'string' ? { column: doc.timestamp } : doc.timestamp;
    if (!isObject(t) || !isColumnName(t.column)) return fail('timestamp must be a column name or {column, format}', 'timestamp');
    const extra = Object.keys(t).find((k) => k !== 'column' && k !== 'format');
    if (extra !== undefined) return fail(`unknown timestamp field "${extra}" (fields: column, format)`, `timestamp.${extra}`);
    const format = t.format ?? 'auto';
    if (!(TIME_FORMATS as readonly unknown[]).includes(format)) return fail(`timestamp.format must be one of ${TIME_FORMATS.join(', ')}`, 'timestamp.format');
    timestamp = { column: t.column, format: format as TimeFormat };
  }

  let csv: ImportMapping['csv'] = {};
  if (doc.csv !== undefined) {
    if (!isObject(doc.csv)) return fail('csv must be an object such as {delimiter: ";"}', 'csv');
    const extra = Object.keys(doc.csv).find((k) => k !== 'delimiter');
    if (extra !== undefined) return fail(`unknown csv field "${extra}" (fields: delimiter)`, `csv.${extra}`);
    const d = doc.csv.delimiter;
    if (d !== undefined && (typeof d !== 'string' || d.length !== 1 || d === '"' || d === '\n' || d === '\r')) {
      return fail('csv.delimiter must be one character (not a quote or a line break)', 'csv.delimiter');
    }
    csv = d === undefined ? {} : { delimiter: d };
  }

  if (!isObject(doc.columns) || Object.keys(doc.columns).length === 0) {
    return fail('columns must map column names to what they carry, e.g. columns: {email: {identifier: email}}', 'columns');
  }
  const columns: ColumnMapping[] = [];
  for (const [column, spec] of Object.entries(doc.columns)) {
    const checked = checkColumn(column, spec, type);
    if (!checked.ok) return checked;
    columns.push(checked.column);
  }
  if (!columns.some((c) => c.identifier !== undefined)) {
    return fail('no column carries an identifier: map at least one, e.g. {identifier: email}', 'columns');
  }
  const mapping: ImportMapping = {
    type,
    ...(typeof event === 'string' ? { event: event.trim() } : {}),
    ...(typeof eventColumn === 'string' ? { eventColumn } : {}),
    key: key as string[],
    ...(timestamp === undefined ? {} : { timestamp }),
    columns,
    csv,
  };
  return { ok: true, mapping };
}

/** Every column the mapping reads, for checking them against a file's header. */
export function mappedColumns(mapping: ImportMapping): string[] {
  const names = new Set<string>(mapping.key);
  if (mapping.timestamp !== undefined) names.add(mapping.timestamp.column);
  if (mapping.eventColumn !== undefined) names.add(mapping.eventColumn);
  for (const c of mapping.columns) names.add(c.column);
  return [...names];
}

function checkColumn(column: string, spec: unknown, type: 'identify' | 'track'): { ok: true; column: ColumnMapping } | { ok: false; message: string; field?: string } {
  const at = `columns.${column}`;
  if (!isObject(spec)) return fail(`${at} must be an object such as {identifier: email} or {trait: firstName}`, at);
  const unknown = Object.keys(spec).find((k) => !(COLUMN_KEYS as readonly string[]).includes(k));
  if (unknown !== undefined) return fail(`unknown field "${unknown}" in ${at} (fields: ${COLUMN_KEYS.join(', ')})`, `${at}.${unknown}`);
  const { identifier, trait, property, split } = spec;
  if (identifier === undefined && trait === undefined && property === undefined) {
    return fail(`${at} carries nothing: give identifier, trait or property`, at);
  }
  if (identifier !== undefined && (typeof identifier !== 'string' || (identifier !== '*' && !IDENTIFIER_TYPE_PATTERN.test(identifier)))) {
    return fail(`${at}.identifier must be an identifier type (lower-case letters, digits, _ . -) or "*"`, `${at}.identifier`);
  }
  if (trait !== undefined) {
    if (type !== 'identify') return fail(`${at}.trait: traits are set by identify mappings; a track mapping fills properties`, `${at}.trait`);
    if (!isPath(trait)) return fail(`${at}.trait must be a trait name (dotted for nesting, e.g. address.city) or "*"`, `${at}.trait`);
  }
  if (property !== undefined) {
    if (type !== 'track') return fail(`${at}.property: properties belong to track mappings; an identify mapping sets traits`, `${at}.property`);
    if (!isPath(property)) return fail(`${at}.property must be a property name (dotted for nesting) or "*"`, `${at}.property`);
  }
  if (spec.type !== undefined && !(VALUE_TYPES as readonly unknown[]).includes(spec.type)) {
    return fail(`${at}.type must be one of ${VALUE_TYPES.join(', ')}`, `${at}.type`);
  }
  if (split !== undefined && (typeof split !== 'string' || split === '')) return fail(`${at}.split must be a non-empty string`, `${at}.split`);
  if (spec.required !== undefined && typeof spec.required !== 'boolean') return fail(`${at}.required must be true or false`, `${at}.required`);
  return {
    ok: true,
    column: {
      column,
      ...(typeof identifier === 'string' ? { identifier } : {}),
      ...(typeof trait === 'string' ? { trait } : {}),
      ...(typeof property === 'string' ? { property } : {}),
      ...(spec.type === undefined ? {} : { type: spec.type as ValueType }),
      ...(typeof split === 'string' ? { split } : {}),
      required: spec.required === true,
    },
  };
}

function isPath(v: unknown): v is string {
  return typeof v === 'string' && (v === '*' || (v !== '' && v.split('.').every((p) => p !== '' && p !== '__proto__' && p !== 'constructor' && p !== 'prototype')));
}

function isColumnName(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string, field?: string): { ok: false; message: string; field?: string } {
  return field === undefined ? { ok: false, message } : { ok: false, message, field };
}
