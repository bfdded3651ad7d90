/** One record read from an import file, or why the reader could not read it; `line` is 1-based. */
export type SourceRecord =
  | { readonly ok: true; readonly line: number; readonly record: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly line: number; readonly code: string; readonly reason: string };

export type ImportFormat = 'csv' | 'ndjson' | 'json';

export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'ndjson', 'json'];

/** An opened import file: its format, the CSV header when there is one, and its records in order. */
export interface RecordSource {
  readonly format: ImportFormat;
  readonly compressed: boolean;
  /** CSV only: the column names of the header row. */
  readonly header?: readonly string[];
  readonly delimiter?: string;
  readonly records: AsyncIterable<SourceRecord>;
}
