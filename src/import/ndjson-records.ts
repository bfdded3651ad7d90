import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SourceRecord } from './source-record.ts';

/** Newline-delimited JSON: one object per line; blank lines skipped; a bad line is rejected alone. */
export async function* ndjsonRecords(text: Readable): AsyncGenerator<SourceRecord> {
  const lines = createInterface({ input: text, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  for await (const raw of lines) {
    line++;
    const content = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (content.trim() === '') continue;
    yield parseObject(content, line);
  }
}

/** One JSON object from its text, or the rejection saying why not. */
export function parseObject(text: string, line: number): SourceRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, line, code: 'invalid_json', reason: `not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, line, code: 'invalid_json', reason: 'each record must be a JSON object' };
  }
  return { ok: true, line, record: value as Record<string, unknown> };
}
