import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { RejectedRow } from './import-records.ts';

/**
 * The rejects file of an import: one JSON line per rejected row, `{line, code, reason, field?,
 * record?}`, created at the first rejection (a stale one from an earlier run at the same path is
 * removed first, so the file always describes the last run).
 */
export class RejectsFile {
  private stream: WriteStream | undefined;
  count = 0;

  constructor(readonly path: string) {
    rmSync(path, { force: true });
  }

  async write(row: RejectedRow): Promise<void> {
    this.count++;
    this.stream ??= createWriteStream(this.path, { flags: 'w' });
    if (!this.stream.write(`${JSON.stringify(row)}\n`)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.stream === undefined) return;
    const s = this.stream;
    await new Promise<void>((resolve, reject) => s.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
