/**
 * What any resolver keeping the spine's invariants must at least spend per message, measured on
 * this machine, to put the ingest goal (kith ≥ 0.5 × floor) in proportion. No HTTP; the benchmark
 * dataset in shuffled order, one thread, CPU time per message of:
 *
 * - `validate + prepare`: the Segment spec checks, identifier extraction and normalisation, the
 *   body serialised once (what kith's HTTP side does besides parsing, which the floor also does);
 * - `log`: the floor's own SQLite work (the message row under a unique message id);
 * - `log + identifier index`: that, plus what read-your-writes of the timeline needs whatever the
 *   resolver: each identifier's row (insert or look up) and one row per (identifier, message), so
 *   an acknowledged event is found from any of its identifiers. No profiles, no linking.
 *
 * Transactions of `--group` messages (default 400: four clients' requests of 100), WAL,
 * synchronous=NORMAL without the fsync (the floor's fsync is cheap here; it is not the issue).
 *
 *   node --import tsx bench/ingest-bound.ts [--people 10000] [--group 400]
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, shuffled } from '../src/demo/generate-dataset.ts';
import { validateMessage } from '../src/spec/validate-message.ts';
import { prepareMessage } from '../src/ingest/prepare-message.ts';
import { DEFAULT_RULES } from '../src/identity/rules.ts';
import type { PreparedMessage } from '../src/identity/resolve-batch.ts';
import { positiveOption } from './positive-option.ts';

const people = positiveOption('--people', 10_000);
const group = positiveOption('--group', 400);
const raw = shuffled(generateDataset({ people, seed: 42 }).messages, 7);
const now = Date.now();

function cpuPerMessage(n: number, work: () => void): number {
  const before = process.cpuUsage();
  work();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

const prepared: PreparedMessage[] = [];
const prepare = cpuPerMessage(raw.length, () => {
  for (const m of raw) {
    const checked = validateMessage(JSON.parse(JSON.stringify(m)) as unknown, { receivedAt: now });
    if (checked.ok) prepared.push(prepareMessage(checked.message, 'bench', DEFAULT_RULES).prepared);
  }
});

function store(withIdentifiers: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), 'kith-bound-'));
  try {
    const db = new Database(join(dir, 'bound.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = normal');
    db.exec(`
      CREATE TABLE messages (seq INTEGER PRIMARY KEY, ws TEXT NOT NULL, message_id TEXT NOT NULL, t INTEGER NOT NULL,
        keys TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (ws, message_id));
      CREATE TABLE identifiers (id INTEGER PRIMARY KEY, ws TEXT NOT NULL, key TEXT NOT NULL, UNIQUE (ws, key));
      CREATE TABLE evidence (ident INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (ident, seq)) WITHOUT ROWID;
    `);
    const insertMessage = db.prepare('INSERT OR IGNORE INTO messages (ws, message_id, t, keys, body) VALUES (?, ?, ?, ?, ?)');
    const insertIdentifier = db.prepare('INSERT INTO identifiers (ws, key) VALUES (?, ?) ON CONFLICT (ws, key) DO UPDATE SET key = key RETURNING id');
    const insertEvidence = db.prepare('INSERT INTO evidence (ident, seq) VALUES (?, ?)');
    const write = db.transaction((batch: readonly PreparedMessage[]) => {
      for (const m of batch) {
        const info = insertMessage.run('ws', m.messageId, m.t, JSON.stringify(m.keys), m.body);
        if (!withIdentifiers || info.changes === 0) continue;
        const seq = Number(info.lastInsertRowid);
        for (const key of m.keys) insertEvidence.run((insertIdentifier.get('ws', key) as { id: number }).id, seq);
      }
    });
    const cpu = cpuPerMessage(prepared.length, () => {
      for (let i = 0; i < prepared.length; i += group) write(prepared.slice(i, i + group));
    });
    db.close();
    return cpu;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const log = store(false);
const indexed = store(true);
process.stdout.write(
  `${people} people, ${prepared.length} messages, transactions of ${group}; CPU µs per message:\n` +
    `  validate + prepare        ${prepare.toFixed(1)}\n` +
    `  log (the floor's write)    ${log.toFixed(1)}\n` +
    `  log + identifier index    ${indexed.toFixed(1)}\n`,
);
