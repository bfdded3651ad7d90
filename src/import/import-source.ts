import type { Readable } from 'node:stream';
import { FileError } from './csv-records.ts';
import { mappedColumns, type ImportMapping } from './import-mapping.ts';
import { openRecords } from './open-records.ts';
import type { ImportFormat, RecordSource } from './source-record.ts';

export { FileError };

/**
 * Opens an import file for a mapping, and checks them against each other before any row is read:
 * a CSV header must hold every column the mapping names (NDJSON and JSON records are checked row
 * by row, since their fields may vary). Throws `FileError` naming what is wrong.
 */
export async function openImportSource(input: Readable, mapping: ImportMapping, options: { format?: ImportFormat; delimiter?: string }): Promise<RecordSource> {
  const delimiter = options.delimiter ?? mapping.csv.delimiter;
  const source = await openRecords(input, { ...(options.format === undefined ? {} : { format: options.format }), ...(delimiter === undefined ? {} : { delimiter }) });
  if (source.header !== undefined) {
    const header = new Set(source.header);
    const missing = mappedColumns(mapping).filter((c) => !header.has(c));
    if (missing.length > 0) {
      const shown = source.header.slice(0, 30).join(', ');
      throw new FileError(
        `the mapping names column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} that the file's header does not have (header, delimiter ${JSON.stringify(source.delimiter)}: ${shown})`,
      );
    }
  }
  return source;
}

/** The format a file name implies (`.csv`, `.tsv`, `.ndjson`, `.jsonl`, `.json`, each optionally `.gz`). */
export function formatOfName(name: string): { format?: ImportFormat; delimiter?: string } {
  const base = name.toLowerCase().replace(/\.gz$/, '');
  if (base.endsWith('.csv')) return { format: 'csv' };
  if (base.endsWith('.tsv')) return { format: 'csv', delimiter: '\t' };
  if (base.endsWith('.ndjson') || base.endsWith('.jsonl')) return { format: 'ndjson' };
  if (base.endsWith('.json')) return { format: 'json' };
  return {};
}
