import type { Readable } from 'node:stream';
import { FileError } from './csv-records.ts';
import { parseObject } from './ndjson-records.ts';
import type { SourceRecord } from './source-record.ts';

/** Records larger than this are rejected without being held in memory. */
const MAX_RECORD_CHARS = 1024 * 1024;

/**
 * A JSON array of objects, read element by element so memory stays flat whatever the file size.
 * This only finds where each top-level element starts and ends (tracking strings, escapes and
 * nesting) and hands its text to JSON.parse: that keeps the line number of every element for the
 * rejects file, which streaming JSON tokenisers do not report, and parses with the engine's own
 * parser. A malformed element is rejected alone; the elements around it are still read.
 */
export async function* jsonArrayRecords(text: Readable): AsyncGenerator<SourceRecord> {
  let state: 'start' | 'between' | 'element' | 'end' = 'start';
  let line = 1;
  let startLine = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: string[] = [];
  let size = 0;
  let first = true;
  const finish = (): SourceRecord => {
    const record: SourceRecord =
      size > MAX_RECORD_CHARS
        ? { ok: false, line: startLine, code: 'record_too_large', reason: `the record is larger than ${MAX_RECORD_CHARS} characters` }
        : parseObject(parts.join(''), startLine);
    parts = [];
    size = 0;
    return record;
  };
  for await (const chunk of text as AsyncIterable<string>) {
    let s = chunk;
    if (first) {
      s = s.replace(/^\uFEFF/, '');
      first = false;
    }
    // An element that began in an earlier chunk goes on from this chunk's start.
    let from = state === 'element' ? 0 : -1;
    const out: SourceRecord[] = [];
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (state === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === '\\') escaped = true;
          else if (ch === '"') inString = false;
          else if (ch === '\n') line++;
          continue;
        }
        if (ch === '"') inString = true;
        else if (ch === '{' || ch === '[') depth++;
        else if (ch === '}' || ch === ']') {
          if (depth === 0 && ch === ']') {
            keep(s.slice(from, i));
            out.push(finish());
            state = 'end';
            continue;
          }
          depth--;
        } else if (ch === ',' && depth === 0) {
          keep(s.slice(from, i));
          out.push(finish());
          state = 'between';
          continue;
        }
        if (ch === '\n') line++;
        continue;
      }
      if (ch === '\n') {
        line++;
        continue;
      }
      if (ch === ' ' || ch === '\t' || ch === '\r') continue;
      if (state === 'start') {
        if (ch !== '[') throw new FileError('a JSON file must hold an array of objects ([{...}, {...}]); for one object per line use NDJSON');
        state = 'between';
      } else if (state === 'between') {
        if (ch === ']') state = 'end';
        else if (ch !== ',') {
          state = 'element';
          startLine = line;
          depth = 0;
          from = i;
          i--; // read this character again as the element's first
        }
      } else if (state === 'end') {
        throw new FileError(`unexpected text after the end of the JSON array at line ${line}`);
      }
    }
    if (state === 'element') keep(s.slice(from));
    yield* out;
  }
  if (state === 'start') throw new FileError('the file is empty: a JSON file must hold an array of objects');
  if ((state as string) !== 'end') throw new FileError(`the JSON array is not closed (the last record starts at line ${startLine})`);

  function keep(piece: string): void {
    size += piece.length;
    if (size <= MAX_RECORD_CHARS) parts.push(piece);
  }
}
