import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { parseImportMapping } from '../import/import-mapping.ts';
import { importRecords, type RejectedRow } from '../import/import-records.ts';
import { FileError, formatOfName, openImportSource } from '../import/import-source.ts';
import { IMPORT_FORMATS, type ImportFormat } from '../import/source-record.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

/** Rejected rows listed in the response at most; the count covers them all. */
const MAX_LISTED_REJECTS = 1000;
const MAX_MAPPING_BYTES = 256 * 1024;

interface ImportQuery {
  source?: string;
  enrichOnly?: string;
  format?: string;
  delimiter?: string;
}

/**
 * `POST /v1/spaces/{ws}/imports` (admin key): a file import over HTTP, as `multipart/form-data`
 * with a `mapping` part (JSON or YAML, file or field) and a `file` part (CSV, NDJSON or JSON
 * array, gzip allowed), e.g. `curl -F mapping=@crm.yaml -F file=@crm.csv`. The upload is streamed
 * to a temporary file as fast as it arrives (so a slow import never holds the upload past the
 * server's request timeout, and memory stays flat), then imported exactly as `kith import` does;
 * the answer is the summary with the rejected rows (line and reason). Query: `source` (required),
 * `enrichOnly=true`, `format`, `delimiter`.
 */
export function registerImportRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app, auth } = deps;
  void server.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: Number.MAX_SAFE_INTEGER, files: 2, fields: 4, fieldSize: MAX_MAPPING_BYTES, parts: 6 } });

    scope.post<{ Params: { ws: string }; Querystring: ImportQuery }>('/v1/spaces/:ws/imports', async (req, reply) => {
      const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
      const q = req.query;
      const source = (q.source ?? '').trim();
      if (source === '') throw new HttpError(400, 'missing_source', 'the source query parameter names where the file comes from (e.g. ?source=crm)', 'source');
      if (q.format !== undefined && !(IMPORT_FORMATS as readonly string[]).includes(q.format)) {
        throw new HttpError(400, 'invalid_format', `format must be one of ${IMPORT_FORMATS.join(', ')}`, 'format');
      }
      const delimiter = q.delimiter === '\\t' ? '\t' : q.delimiter;
      if (delimiter !== undefined && delimiter.length !== 1) throw new HttpError(400, 'invalid_delimiter', 'delimiter must be one character', 'delimiter');
      const enrichOnly = q.enrichOnly === 'true' || q.enrichOnly === '1';
      if (!req.isMultipart()) {
        throw new HttpError(415, 'unsupported_media_type', 'send multipart/form-data with a "mapping" part and a "file" part (curl -F mapping=@map.yaml -F file=@data.csv)');
      }

      const dir = await mkdtemp(join(tmpdir(), 'kith-import-'));
      try {
        let mappingText: string | undefined;
        let fileName: string | undefined;
        const spooled = join(dir, 'upload');
        for await (const part of req.parts()) {
          if (part.type === 'file') {
            if (part.fieldname === 'file') {
              if (fileName !== undefined) throw new HttpError(400, 'invalid_upload', 'send one "file" part', 'file');
              await pipeline(part.file, createWriteStream(spooled));
              fileName = part.filename || 'upload';
            } else if (part.fieldname === 'mapping') {
              const chunks: Buffer[] = [];
              let size = 0;
              for await (const chunk of part.file as AsyncIterable<Buffer>) {
                size += chunk.length;
                if (size > MAX_MAPPING_BYTES) throw new HttpError(400, 'invalid_mapping', 'the mapping is larger than 256 KB', 'mapping');
                chunks.push(chunk);
              }
              mappingText = Buffer.concat(chunks).toString('utf8');
            } else {
              part.file.resume();
              throw new HttpError(400, 'invalid_upload', `unexpected part "${part.fieldname}": send "mapping" and "file"`, part.fieldname);
            }
          } else if (part.fieldname === 'mapping') {
            mappingText = String(part.value);
          } else {
            throw new HttpError(400, 'invalid_upload', `unexpected field "${part.fieldname}": send "mapping" and "file"`, part.fieldname);
          }
        }
        if (mappingText === undefined) throw new HttpError(400, 'missing_mapping', 'the "mapping" part is missing', 'mapping');
        if (fileName === undefined) throw new HttpError(400, 'missing_file', 'the "file" part is missing', 'file');
        const parsed = parseImportMapping(mappingText);
        if (!parsed.ok) throw new HttpError(400, 'invalid_mapping', parsed.message, parsed.field === undefined ? 'mapping' : `mapping.${parsed.field}`);

        const named = formatOfName(fileName);
        const format = (q.format as ImportFormat | undefined) ?? named.format;
        const sep = delimiter ?? named.delimiter;
        let records;
        try {
          records = await openImportSource(createReadStream(spooled), parsed.mapping, { ...(format === undefined ? {} : { format }), ...(sep === undefined ? {} : { delimiter: sep }) });
        } catch (err) {
          if (err instanceof FileError) throw new HttpError(400, 'invalid_file', err.message, 'file');
          throw err;
        }

        // A client that hangs up stops the import after the rows already read; re-sending the file finishes it.
        const abort = new AbortController();
        reply.raw.on('close', () => {
          if (!reply.raw.writableFinished) abort.abort();
        });
        const rejects: RejectedRow[] = [];
        let summary;
        try {
          summary = await importRecords({ read: app.store.read, sink: app.committer }, workspace, records.records, {
            source,
            mapping: parsed.mapping,
            enrichOnly,
            signal: abort.signal,
            now: app.now,
            onReject: (row) => {
              app.metrics.rejected.inc({ reason: row.code });
              if (rejects.length < MAX_LISTED_REJECTS) {
                const { record: _record, ...listed } = row;
                rejects.push(listed);
              }
            },
          });
        } catch (err) {
          if (err instanceof FileError) throw new HttpError(400, 'invalid_file', err.message, 'file');
          throw err;
        }
        app.metrics.accepted.inc(summary.accepted);
        app.metrics.duplicates.inc(summary.duplicates);
        return {
          import: { source, file: fileName, format: records.format, compressed: records.compressed, enrichOnly, ...summary },
          rejects,
          rejectsTruncated: summary.rejected > rejects.length,
        };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}
