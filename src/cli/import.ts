import { createReadStream, readFileSync, statSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { Option, type Command } from 'commander';
import { parseImportMapping } from '../import/import-mapping.ts';
import { progressReporter } from '../import/import-progress.ts';
import { DEFAULT_BATCH_ROWS, importRecords, type ImportSummary } from '../import/import-records.ts';
import { FileError, formatOfName, openImportSource } from '../import/import-source.ts';
import { RejectsFile } from '../import/rejects-file.ts';
import { IMPORT_FORMATS, type ImportFormat } from '../import/source-record.ts';
import { CliError } from './cli-error.ts';
import { boundHeapGrowth } from './heap-limits.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** The read connection only answers the import's own snapshot reads (see AppOptions.readerCacheMb). */
const IMPORT_READER_CACHE_MB = 16;
/**
 * The resolver's page cache during an import: 32 MB instead of the server's 64 keeps a
 * million-row import's peak RSS about 40 MB under the 300 MB it is held to (the 64 MB cache put it at
 * 300–318 MB), for a few percent more CPU per row (pages read again from the OS cache).
 */
const IMPORT_WRITER_CACHE_MB = 32;

interface ImportOpts {
  source: string;
  mapping: string;
  db?: string;
  workspace: string;
  enrichOnly?: boolean;
  format?: ImportFormat;
  delimiter?: string;
  rejects?: string;
  batchSize: string;
  json?: boolean;
}

/**
 * `kith import FILE`: first-party files (CRM, loyalty, point of sale, contact centre) through the
 * same validation, normalisation and resolution as live messages, with a progress bar, a rejects
 * file and a summary. Ctrl-C stops after the rows already read are committed; running the same
 * command again finishes the job (row message ids make the rows already imported no-ops).
 */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description('import a CSV, NDJSON or JSON file (optionally gzip-compressed) through identity resolution')
    .argument('<file>', 'the file to import ("-" reads standard input)')
    .requiredOption('--source <name>', 'source name: recorded as each message\'s source, and part of each row\'s message id')
    .requiredOption('--mapping <file>', 'mapping file (JSON or YAML): what each column carries, identify or track, key and time columns')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--enrich-only', 'only add traits to profiles that already exist (matched by identifiers); never create or merge profiles')
    .addOption(new Option('--format <format>', 'file format (default: from the file name, else sniffed)').choices(IMPORT_FORMATS))
    .option('--delimiter <char>', 'CSV delimiter (default: the mapping\'s csv.delimiter, else sniffed from the header)')
    .option('--rejects <file>', 'where rejected rows are written (default: FILE.rejects.ndjson)')
    .option('--batch-size <n>', 'rows per batch: each batch is durable and visible in its profiles before the next one goes in', String(DEFAULT_BATCH_ROWS))
    .option('--json', 'print the summary as JSON')
    .action(async (file: string, opts: ImportOpts) => {
      const batchSize = Number(opts.batchSize);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 50_000) throw new CliError('--batch-size must be an integer from 1 to 50000');
      if (opts.source.trim() === '') throw new CliError('--source must not be empty');
      if (opts.delimiter !== undefined && opts.delimiter !== '\\t' && opts.delimiter.length !== 1) throw new CliError('--delimiter must be one character (or \\t)');
      const delimiter = opts.delimiter === '\\t' ? '\t' : opts.delimiter;

      let mappingText: string;
      try {
        mappingText = readFileSync(opts.mapping, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read the mapping file ${opts.mapping}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const parsed = parseImportMapping(mappingText);
      if (!parsed.ok) throw new CliError(`mapping ${opts.mapping}: ${parsed.message}`);

      const stdin = file === '-';
      let totalBytes: number | undefined;
      if (!stdin) {
        try {
          const st = statSync(file);
          if (!st.isFile()) throw new CliError(`${file} is not a file`);
          totalBytes = st.size;
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        }
      }
      let bytesRead = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytesRead += chunk.length;
          done(null, chunk);
        },
      });
      const input: Readable = stdin ? process.stdin : createReadStream(file);
      input.on('error', (err) => counter.destroy(err));
      const named = stdin ? {} : formatOfName(file);
      let source;
      try {
        source = await openImportSource(input.pipe(counter), parsed.mapping, {
          ...(opts.format === undefined ? (named.format === undefined ? {} : { format: named.format }) : { format: opts.format }),
          ...(delimiter === undefined ? (named.delimiter === undefined ? {} : { delimiter: named.delimiter }) : { delimiter }),
        });
      } catch (err) {
        input.destroy();
        if (err instanceof FileError) throw new CliError(`${stdin ? 'standard input' : file}: ${err.message}`);
        throw err;
      }

      const rejects = new RejectsFile(opts.rejects ?? `${stdin ? 'stdin' : file}.rejects.ndjson`);
      const abort = new AbortController();
      const onSigint = (): void => {
        process.stderr.write('\nkith import: stopping after the rows already read; run the same command again to finish\n');
        abort.abort();
        // A file is read to the next row boundary; standard input may never send another row.
        if (stdin) input.destroy();
      };
      process.once('SIGINT', onSigint);
      const progress = progressReporter({ out: process.stderr, totalBytes, bytesRead: () => bytesRead });
      boundHeapGrowth();
      let summary: ImportSummary;
      try {
        summary = await withApp(opts, async (app) => {
          const ws = await requireWorkspace(app, opts.workspace);
          return importRecords({ read: app.store.read, sink: app.committer }, ws, source.records, {
            source: opts.source.trim(),
            mapping: parsed.mapping,
            enrichOnly: opts.enrichOnly === true,
            batchSize,
            onReject: (row) => rejects.write(row),
            onProgress: (p) => progress.update(p),
            signal: abort.signal,
          });
        }, { readerCacheMb: IMPORT_READER_CACHE_MB, writerCacheMb: IMPORT_WRITER_CACHE_MB });
      } catch (err) {
        if (abort.signal.aborted) throw new CliError('import interrupted; run the same command again to finish', 130);
        if (err instanceof FileError) throw new CliError(`${stdin ? 'standard input' : file}: ${err.message}`);
        throw err;
      } finally {
        process.removeListener('SIGINT', onSigint);
        progress.finish();
        await rejects.close();
      }
      const report = { file, source: opts.source.trim(), format: source.format, compressed: source.compressed, ...summary, rejectsFile: rejects.count > 0 ? rejects.path : null };
      if (opts.json === true) process.stdout.write(`${JSON.stringify(report)}\n`);
      else process.stdout.write(describeSummary(report, opts.enrichOnly === true));
      if (summary.interrupted) process.exitCode = 130;
    });
}

function describeSummary(r: ImportSummary & { file: string; format: string; compressed: boolean; rejectsFile: string | null }, enrich: boolean): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const seconds = r.durationMs / 1000;
  const lines = [
    `${r.interrupted ? 'interrupted' : 'imported'} ${r.file} (${r.format}${r.compressed ? ', gzip' : ''}) in ${seconds.toFixed(1)} s, ${n(Math.round(r.rowsRead / Math.max(seconds, 0.001)))} rows/s`,
    `  rows read      ${n(r.rowsRead)}`,
    `  accepted       ${n(r.accepted)}`,
    `  already there  ${n(r.duplicates)}`,
    `  rejected       ${n(r.rejected)}${r.rejectsFile === null ? '' : `  (see ${r.rejectsFile})`}`,
    ...(enrich ? [`  matched        ${n(r.matched)}`, `  unmatched      ${n(r.unmatched)}  (skipped: no existing profile)`, `  ambiguous      ${n(r.ambiguous)}  (rejected: matched several profiles)`] : []),
    `  new profiles   ${n(r.newProfiles)}`,
    `  merges         ${n(r.merges)}`,
  ];
  if (r.interrupted) lines.push('run the same command again to import the rest (rows already imported are skipped)');
  return `${lines.join('\n')}\n`;
}
