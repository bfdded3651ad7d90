import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FileError, openCsv, sniffDelimiter } from './csv-records.ts';
import { jsonArrayRecords } from './json-array-records.ts';
import { ndjsonRecords } from './ndjson-records.ts';
import type { ImportFormat, RecordSource } from './source-record.ts';

export interface OpenOptions {
  /** The format when known (from a flag or a file extension); otherwise sniffed from the content. */
  readonly format?: ImportFormat;
  /** CSV delimiter; otherwise sniffed from the header line. */
  readonly delimiter?: string;
}

/**
 * Opens an import stream: gzip is recognised by its magic bytes (whatever the file is called) and
 * inflated on the fly; the format, when not given, is sniffed from the first character (`[` a JSON
 * array, `{` NDJSON, anything else CSV). For CSV the header row is read before this resolves, so a
 * mapping can be checked against it before any row is imported. Nothing is buffered beyond the
 * first chunk: memory stays flat whatever the size of the file.
 */
export async function openRecords(input: Readable, options: OpenOptions = {}): Promise<RecordSource> {
  const raw = await peek(input, 2);
  const compressed = raw.head.length >= 2 && raw.head[0] === 0x1f && raw.head[1] === 0x8b;
  let body: Readable = raw.stream;
  if (compressed) {
    const gunzip = createGunzip();
    raw.stream.on('error', (err) => gunzip.destroy(err));
    body = raw.stream.pipe(gunzip);
  }
  body.setEncoding('utf8');
  const text = await peek(body, 4096);
  const head = text.head.toString().replace(/^\uFEFF/, '');
  const format = options.format ?? sniffFormat(head);
  switch (format) {
    case 'csv': {
      const firstLine = head.split('\n', 1)[0] ?? '';
      const delimiter = options.delimiter ?? sniffDelimiter(firstLine);
      const { header, records } = await openCsv(text.stream, delimiter);
      return { format, compressed, header, delimiter, records };
    }
    case 'ndjson':
      return { format, compressed, records: ndjsonRecords(text.stream) };
    case 'json':
      return { format, compressed, records: jsonArrayRecords(text.stream) };
    default:
      throw new FileError(`unknown format ${String(format)}`);
  }
}

function sniffFormat(head: string): ImportFormat {
  const first = head.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') return 'ndjson';
  return 'csv';
}

/**
 * Reads from `input` until at least `bytes` are in hand (or it ends), and returns them together
 * with a stream that yields them again followed by the rest of the input.
 */
async function peek(input: Readable, bytes: number): Promise<{ head: Buffer | string; stream: Readable }> {
  const chunks: Array<Buffer | string> = [];
  let size = 0;
  const iterator = input[Symbol.asyncIterator]();
  let done = false;
  while (size < bytes) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    const chunk = next.value as Buffer | string;
    chunks.push(chunk);
    size += chunk.length;
  }
  const head = chunks.length > 0 && typeof chunks[0] === 'string' ? chunks.join('') : Buffer.concat(chunks as Buffer[]);
  async function* replay(): AsyncGenerator<Buffer | string> {
    for (const c of chunks) yield c;
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value as Buffer | string;
    }
  }
  const stream = Readable.from(replay(), { objectMode: false });
  if (typeof head === 'string') stream.setEncoding('utf8');
  return { head, stream };
}
