import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './harness.ts';
import { createTestDatabase } from './postgres-database.ts';
import { upload } from './import-upload.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = join(ROOT, 'examples');
const example = (name: string): string => readFileSync(join(EXAMPLES, name), 'utf8');

const FILES = [
  ['crm-customers.csv', 'crm-customers.mapping.yaml', 'crm'],
  ['loyalty-members.ndjson', 'loyalty-members.mapping.json', 'loyalty'],
  ['pos-transactions.csv', 'pos-transactions.mapping.yaml', 'pos'],
  ['contact-centre-log.json', 'contact-centre-log.mapping.yaml', 'callcentre'],
] as const;

async function importExamples(s: TestServer): Promise<void> {
  for (const [file, mapping, source] of FILES) {
    const res = await upload(s, { mapping: example(mapping), file: example(file), fileName: file, query: `source=${source}` });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }
}

async function exportText(s: TestServer, query = ''): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${s.url}/v1/spaces/default/profiles:export${query}`, { headers: { authorization: s.basic(s.keys.adminKey) } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** Profiles without their ids (which hash the workspace id) and times, in a stable order. */
function comparable(ndjson: string): unknown[] {
  return ndjson
    .trim()
    .split('\n')
    .map((l) => {
      const { identifiers, traits } = JSON.parse(l);
      return { identifiers, traits };
    })
    .sort((a, b) => (JSON.stringify(a.identifiers) < JSON.stringify(b.identifiers) ? -1 : 1));
}

describe('profile export', () => {
  const servers: TestServer[] = [];
  const start = async (opts: { db?: string } = {}): Promise<TestServer> => {
    const s = await startServer(opts);
    servers.push(s);
    return s;
  };
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  it('streams every profile as NDJSON with its id, identifiers and traits', async () => {
    const s = await start();
    await importExamples(s);
    const res = await exportText(s);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/application\/x-ndjson/);
    const profiles = res.text.trim().split('\n').map((l) => JSON.parse(l));
    const ws = (await s.app.workspaces.byName('default'))!;
    expect(profiles).toHaveLength((await s.app.store.read.stats(ws.id)).profiles);
    const jane = profiles.find((p) => p.identifiers.user_id?.[0] === 'C-1001');
    expect(jane).toMatchObject({
      profile_id: expect.stringMatching(/^prf_/),
      identifiers: { email: ['jane.doe@example.com'], loyalty_id: ['LC-88001'], phone: ['+14155550134'], user_id: ['C-1001'] },
      traits: { firstName: 'Jane', address: { city: 'San Francisco', country: 'US' }, loyalty: { tier: 'gold', points: 4820 } },
    });
    expect(new Set(profiles.map((p) => p.profile_id)).size).toBe(profiles.length);
  });

  it('flattens nested traits into dotted CSV columns', async () => {
    const s = await start();
    await importExamples(s);
    const res = await exportText(s, '?format=csv');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/text\/csv/);
    const rows = parse(res.text, { columns: true }) as Array<Record<string, string>>;
    const columns = Object.keys(rows[0]!);
    expect(columns.slice(0, 3)).toEqual(['profile_id', 'created_at', 'updated_at']);
    expect(columns).toEqual(expect.arrayContaining(['identifiers.email', 'identifiers.loyalty_id', 'traits.address.city', 'traits.loyalty.tier', 'traits.lifetimeValue']));
    const maria = rows.find((r) => r['identifiers.user_id'] === 'C-1004')!;
    expect(maria).toMatchObject({ 'traits.address.city': 'Brooklyn, NY', 'traits.loyalty.tier': 'platinum', 'traits.lifetimeValue': '2045.1', 'identifiers.loyalty_id': 'LC-88005' });
    expect((await exportText(s, '?format=xml')).status).toBe(400);
    const read = await fetch(`${s.url}/v1/spaces/default/profiles:export`, { headers: { authorization: s.basic(s.keys.readKey) } });
    expect(read.status).toBe(403);
  });

  it('an NDJSON export re-imported into an empty workspace with the documented mapping reproduces the same profiles', async () => {
    const s = await start();
    await importExamples(s);
    const enriched = await upload(s, { mapping: example('partner-enrichment.mapping.yaml'), file: example('partner-enrichment.csv'), fileName: 'p.csv', query: 'source=partner&enrichOnly=true' });
    expect(enriched.body.import.matched).toBe(3);
    const original = (await exportText(s)).text;

    const empty = await start();
    const res = await upload(empty, { mapping: example('profiles-export.mapping.yaml'), file: original, fileName: 'profiles.ndjson', query: 'source=export' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const count = original.trim().split('\n').length;
    expect(res.body.import).toMatchObject({ rowsRead: count, accepted: count, rejected: 0, newProfiles: count, merges: 0 });
    expect(comparable((await exportText(empty)).text)).toEqual(comparable(original));
  });

  it('exports from PostgreSQL the same way', async () => {
    const db = await createTestDatabase('kith_export');
    try {
      const s = await start({ db: db.url });
      await importExamples(s);
      const sqlite = await start();
      await importExamples(sqlite);
      expect(comparable((await exportText(s)).text)).toEqual(comparable((await exportText(sqlite)).text));
      await s.close();
      servers.splice(servers.indexOf(s), 1);
    } finally {
      await db.drop();
    }
  });

  it('kith export writes NDJSON or CSV to a file', async () => {
    const s = await start();
    await importExamples(s);
    const dir = mkdtempSync(join(tmpdir(), 'kith-export-'));
    try {
      const out = join(dir, 'profiles.csv');
      const viaHttp = (await exportText(s, '?format=csv')).text;
      // The server holds the database; the CLI reads it alongside (SQLite readers do not block).
      const run = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin', 'kith.js'), 'export', '--format', 'csv', '--out', out, '--db', s.dbPath], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('close', (code) => done({ code, stderr }));
      });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/exported \d+ profiles/);
      expect(readFileSync(out, 'utf8')).toBe(viaHttp);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
