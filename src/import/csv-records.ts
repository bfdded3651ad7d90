import type { Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import type { SourceRecord } from './source-record.ts';

export class FileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FileError';
  }
}

/**
 * CSV with csv-parse: any one-character delimiter, quoted fields (with quotes, delimiters and line
 * breaks inside), a byte-order mark, blank lines skipped. The first record is the header. Stray
 * quotes inside unquoted fields are kept as text (relaxed), a record with a different number of
 * fields than the header is rejected, and a record the parser cannot read is rejected with its line
 * while the parser carries on with the next one.
 */
export async function openCsv(text: Readable, delimiter: string): Promise<{ header: string[]; records: AsyncIterable<SourceRecord> }> {
  const skipped: SourceRecord[] = [];
  const parser = text.pipe(
    parse({
      bom: true,
      delimiter,
      info: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      on_skip: (err: CsvError | undefined) => {
        if (err !== undefined) skipped.push({ ok: false, line: Number(err.lines), code: 'invalid_csv', reason: err.message });
        return undefined;
      },
    }),
  );
  text.on('error', (err) => parser.destroy(err));
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: { lines: number } }>;
  const first = await iterator.next();
  if (first.done === true) throw new FileError('the file is empty: a CSV file needs a header row');
  const header = first.value.record.map((h) => h.trim());
  const seen = new Set<string>();
  for (const h of header) {
    if (h !== '' && seen.has(h)) throw new FileError(`the header names the column "${h}" twice`);
    seen.add(h);
  }
  async function* records(): AsyncGenerator<SourceRecord> {
    for (;;) {
      const next = await iterator.next();
      while (skipped.length > 0) yield skipped.shift()!;
      if (next.done === true) return;
      const { record, info } = next.value;
      // info.lines is where the record ends; a quoted field may have spanned several lines.
      let breaks = 0;
      for (const f of record) for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) breaks++;
      const line = info.lines - breaks;
      if (record.length !== header.length) {
        yield { ok: false, line, code: 'column_count', reason: `the row has ${record.length} fields; the header has ${header.length}` };
        continue;
      }
      const row: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) if (header[i] !== '') row[header[i]!] = record[i]!;
      yield { ok: true, line, record: row };
    }
  }
  return { header, records: records() };
}

/**
 * Guesses the delimiter from the header line: the most frequent of `,` `;` tab `|` outside quotes
 * (a comma when none appears: a one-column file).
 */
export function sniffDelimiter(firstLine: string): string {
  const counts = new Map<string, number>([[',', 0], [';', 0], ['\t', 0], ['|', 0]]);
  let quoted = false;
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = ',';
  for (const [d, n] of counts) if (n > counts.get(best)!) best = d;
  return best;
}
