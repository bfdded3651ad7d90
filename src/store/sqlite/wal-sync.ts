import { fdatasync, openSync, closeSync, fstatSync, statSync, existsSync } from 'node:fs';

/**
 * Makes committed transactions durable off the JavaScript thread. The store commits with
 * `synchronous=NORMAL` (frames written to the WAL, no fsync) and then awaits `flush()`, which
 * fdatasyncs the WAL file on libuv's thread pool. A write is acknowledged only after the sync that
 * covers it, which is the durability of `synchronous=FULL`; meanwhile the next transaction already
 * runs, so the disk's latency overlaps with resolution instead of adding to it. Concurrent callers
 * share syncs: each waits for the first sync that started after its commit.
 */
export class WalSync {
  private fd: number | undefined;
  private ino: number | undefined;
  private written = 0;
  private synced = 0;
  private syncing = false;
  private waiters: Array<{ gen: number; resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(private readonly walPath: string) {}

  /** Call right after a COMMIT; resolves once that commit is on disk. */
  flush(): Promise<void> {
    const gen = ++this.written;
    return new Promise((resolve, reject) => {
      this.waiters.push({ gen, resolve, reject });
      this.pump();
    });
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private pump(): void {
    if (this.syncing || this.synced >= this.written) return;
    this.syncing = true;
    const target = this.written;
    let fd: number;
    try {
      fd = this.open();
    } catch (err) {
      this.finish(target, err as Error);
      return;
    }
    fdatasync(fd, (err) => this.finish(target, err ?? undefined));
  }

  private finish(target: number, err: Error | undefined): void {
    this.syncing = false;
    const done = this.waiters.filter((w) => w.gen <= target);
    this.waiters = this.waiters.filter((w) => w.gen > target);
    if (err === undefined) this.synced = target;
    for (const w of done) (err === undefined ? w.resolve() : w.reject(new Error(`could not make the write durable: ${err.message}`)));
    this.pump();
  }

  /** The WAL file, reopened if SQLite replaced it (a new inode). */
  private open(): number {
    if (!existsSync(this.walPath)) throw new Error(`write-ahead log ${this.walPath} is missing`);
    const ino = statSync(this.walPath).ino;
    if (this.fd !== undefined && this.ino === ino && fstatSync(this.fd).ino === ino) return this.fd;
    this.close();
    this.fd = openSync(this.walPath, 'r+');
    this.ino = ino;
    return this.fd;
  }
}
