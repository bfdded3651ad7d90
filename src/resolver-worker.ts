/**
 * The composition root of the resolver worker thread (see ingest/worker-batch-writer.ts): its own
 * write connection to the embedded store, running the in-process batch writer on what the main
 * thread sends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inProcessWriter, type WorkspaceBatch } from './ingest/batch-writer.ts';
import { openSqliteStore } from './store/sqlite/sqlite-store.ts';

type Request = { kind: 'write'; id: number; batches: WorkspaceBatch[]; now: number } | { kind: 'close' };

const port = parentPort;
if (port === null) throw new Error('resolver-worker.ts runs only as a worker thread');
const { path, cacheMb } = workerData as { path: string; cacheMb: number };
// Resolution reads inside its write transactions: this thread's read connection needs little.
const store = openSqliteStore({ path, checkpoint: false, cacheMb: { writer: cacheMb, reader: 8 } });
const writer = inProcessWriter(store);

port.on('message', (req: Request) => {
  if (req.kind === 'close') {
    void store.close().then(() => port.postMessage({ kind: 'closed' }));
    return;
  }
  writer.write(req.batches, req.now).then(
    (written) => port.postMessage({ kind: 'done', id: req.id, outcomes: written.outcomes.map((m) => [...m]), stats: written.stats }),
    (err: unknown) => port.postMessage({ kind: 'failed', id: req.id, message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
