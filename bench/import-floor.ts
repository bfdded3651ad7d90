/**
 * The floor of the import benchmark, run as a process of its own by bench/import.ts: the same file
 * read by the same reader (csv-parse through openImportSource), every row inserted raw into SQLite,
 * durably, in transactions of 1000 rows, and nothing else. Prints `{"rows": n, "ms": t}`.
 *
 * `node --import tsx bench/import-floor.ts FILE DB MAPPING`
 */
import Database from 'better-sqlite3';
import { createReadStream, readFileSync } from 'node:fs';
import { parseImportMapping } from '../src/import/import-mapping.ts';
import { openImportSource } from '../src/import/import-source.ts';

const [file, dbPath, mappingPath] = process.argv.slice(2);
if (file === undefined || dbPath === undefined || mappingPath === undefined) throw new Error('usage: import-floor.ts FILE DB MAPPING');
const parsed = parseImportMapping(readFileSync(mappingPath, 'utf8'));
if (!parsed.ok) throw new Error(parsed.message);

const db = new Database(dbPath);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = full');
db.exec('CREATE TABLE raw (seq INTEGER PRIMARY KEY, line INTEGER NOT NULL, body TEXT NOT NULL)');
const insert = db.prepare('INSERT INTO raw (line, body) VALUES (?, ?)');
const store = db.transaction((batch: Array<[number, string]>) => {
  for (const [line, body] of batch) insert.run(line, body);
});

const started = performance.now();
const source = await openImportSource(createReadStream(file), parsed.mapping, {});
let batch: Array<[number, string]> = [];
let rows = 0;
for await (const r of source.records) {
  if (!r.ok) continue;
  batch.push([r.line, JSON.stringify(r.record)]);
  rows++;
  if (batch.length === 1000) {
    store(batch);
    batch = [];
  }
}
store(batch);
const ms = performance.now() - started;
db.close();
process.stdout.write(`${JSON.stringify({ rows, ms })}\n`);
