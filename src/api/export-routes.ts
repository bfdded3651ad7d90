import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../export/export-profiles.ts';
import { exportText } from '../export/export-stream.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

/**
 * `GET /v1/spaces/{ws}/profiles:export?format=ndjson|csv` (admin key: it is every customer's
 * personal data): every profile with its id, identifiers and traits, streamed page by page as it
 * is read, so memory stays flat and the first bytes leave at once. The NDJSON re-imports with
 * examples/profiles-export.mapping.yaml.
 */
export function registerExportRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app, auth } = deps;
  // `::` is a literal colon in a route path (a single one would start a parameter).
  server.get<{ Params: { ws: string }; Querystring: { format?: string } }>('/v1/spaces/:ws/profiles::export', async (req, reply) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const format = (req.query.format ?? 'ndjson') as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new HttpError(400, 'invalid_format', `format must be one of ${EXPORT_FORMATS.join(', ')}`, 'format');
    const stream = Readable.from(exportText(app.store.read, workspace, format));
    // The response has started by the time a read could fail; the error ends the connection
    // (the client sees a truncated body, never a complete-looking one).
    stream.on('error', (err) => req.log.error({ err }, 'export failed'));
    void reply
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
      .header('content-disposition', `attachment; filename="${workspace.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-profiles.${format}"`)
      .header('cache-control', 'no-store');
    return reply.send(stream);
  });
}
