import { stringify } from 'csv-stringify/sync';
import type { JsonValue } from '../spec/segment-message.ts';
import type { ReadPort, Workspace } from '../store/ports.ts';
import { exportedProfiles, type ExportedProfile, type ExportFormat } from './export-profiles.ts';

/** Values of one identifier type in one CSV cell are joined with this (re-import with `split: "|"`). */
export const CSV_IDENTIFIER_SEPARATOR = '|';

/** The export as text chunks (lines) in the given format, for a file or an HTTP response. */
export function exportText(read: ReadPort, ws: Workspace, format: ExportFormat): AsyncGenerator<string> {
  return format === 'csv' ? csvExport(read, ws) : ndjsonExport(read, ws);
}

/** One JSON object per profile and line: `{profile_id, created_at, updated_at, identifiers, traits}`. */
async function* ndjsonExport(read: ReadPort, ws: Workspace): AsyncGenerator<string> {
  for await (const p of exportedProfiles(read, ws)) yield `${JSON.stringify(p)}\n`;
}

/**
 * CSV: one row per profile, nested traits flattened into dotted columns (`traits.address.city`),
 * identifiers as `identifiers.<type>` with several values joined by `|`, lists and other JSON
 * values as JSON text. A CSV header must come first and trait names are open-ended, so the
 * profiles are read twice: once to collect the columns, once to write the rows. Only the set of
 * column names is held in memory.
 */
async function* csvExport(read: ReadPort, ws: Workspace): AsyncGenerator<string> {
  const identifierColumns = new Set<string>();
  const traitColumns = new Set<string>();
  for await (const p of exportedProfiles(read, ws)) {
    for (const type of Object.keys(p.identifiers)) identifierColumns.add(`identifiers.${type}`);
    for (const column of Object.keys(flatten(p.traits, 'traits'))) traitColumns.add(column);
  }
  const columns = ['profile_id', 'created_at', 'updated_at', ...[...identifierColumns].sort(), ...[...traitColumns].sort()];
  yield stringify([columns]);
  for await (const p of exportedProfiles(read, ws)) {
    const traits = flatten(p.traits, 'traits');
    yield stringify([columns.map((c) => cellOf(p, traits, c))]);
  }
}

function cellOf(p: ExportedProfile, traits: Record<string, JsonValue>, column: string): string {
  if (column === 'profile_id') return p.profile_id;
  if (column === 'created_at') return p.created_at;
  if (column === 'updated_at') return p.updated_at;
  if (column.startsWith('identifiers.')) return (p.identifiers[column.slice('identifiers.'.length)] ?? []).join(CSV_IDENTIFIER_SEPARATOR);
  const leaf = traits[column];
  return leaf === undefined ? '' : text(leaf);
}

/** Nested objects become dotted paths; arrays, scalars and empty objects are leaves. */
export function flatten(value: { [key: string]: JsonValue }, prefix: string): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  const walk = (v: JsonValue, path: string): void => {
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`);
    } else {
      out[path] = v;
    }
  };
  for (const [k, v] of Object.entries(value)) walk(v, `${prefix}.${k}`);
  return out;
}

function text(v: JsonValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
