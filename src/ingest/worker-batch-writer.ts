import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MessageOutcome, ResolveStats } from '../identity/resolve-batch.ts';
import type { BatchWriter, BatchWritten, WorkspaceBatch } from './batch-writer.ts';

type Reply =
  | { kind: 'done'; id: number; outcomes: Array<Array<[string, MessageOutcome]>>; stats: ResolveStats }
  | { kind: 'failed'; id: number; message: string }
  | { kind: 'closed' };

/**
 * Runs group commits on a worker thread with its own connection to the embedded store, so that
 * resolution and SQLite work overlap with HTTP parsing and validation on the main thread (the
 * machine has two cores; a single thread would leave one idle). The worker starts on the first
 * write, so commands that only read never spawn it, and is started again if it ever dies.
 */
/** The ESM build of tsx's loader API (its CommonJS build cannot register from an eval'd worker). */
function tsxLoaderUrl(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}

export function workerBatchWriter(entry: URL, workerData: Record<string, unknown>): BatchWriter {
  let worker: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: BatchWritten) => void; reject: (e: Error) => void }>();

  const start = (): Worker => {
    // The sources are TypeScript run through tsx: the thread registers its loader before importing
    // the entry module (Node 20 does not pass the parent's loader hooks on to worker threads).
    const tsx = tsxLoaderUrl();
    const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
    const w = new Worker(bootstrap, { eval: true, workerData });
    w.on('message', (reply: Reply) => {
      if (reply.kind === 'closed') return;
      const p = waiting.get(reply.id);
      if (p === undefined) return;
      waiting.delete(reply.id);
      if (reply.kind === 'done') p.resolve({ outcomes: reply.outcomes.map((entries) => new Map(entries)), stats: reply.stats });
      else p.reject(new Error(`resolver worker: ${reply.message}`));
    });
    const fail = (err: Error): void => {
      if (worker === w) worker = undefined;
      for (const p of waiting.values()) p.reject(err);
      waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`resolver worker exited with code ${code}`)));
    return w;
  };

  return {
    write(batches: readonly WorkspaceBatch[], now: number) {
      worker ??= start();
      const id = nextId++;
      const w = worker;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        w.postMessage({ kind: 'write', id, batches, now });
      });
    },
    async close() {
      const w = worker;
      worker = undefined;
      if (w === undefined) return;
      await new Promise<void>((resolve) => {
        w.once('exit', () => resolve());
        w.on('message', (reply: Reply) => {
          if (reply.kind === 'closed') void w.terminate();
        });
        w.postMessage({ kind: 'close' });
      });
    },
  };
}
