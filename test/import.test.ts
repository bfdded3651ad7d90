import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request, startServer, type TestServer } from './harness.ts';
import { upload } from './import-upload.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kith.js');
const EXAMPLES = join(ROOT, 'examples');
const example = (name: string): string => readFileSync(join(EXAMPLES, name), 'utf8');

async function traits(s: TestServer, id: string): Promise<{ status: number; body: any }> {
  return request(`${s.url}/v1/spaces/default/collections/users/profiles/${encodeURIComponent(id)}/traits?limit=200`, { auth: s.basic(s.keys.readKey) });
}

async function externalIds(s: TestServer, id: string): Promise<string[]> {
  const res = await request(`${s.url}/v1/spaces/default/collections/users/profiles/${encodeURIComponent(id)}/external_ids?limit=100`, { auth: s.basic(s.keys.readKey) });
  expect(res.status).toBe(200);
  return (res.body.data as Array<{ type: string; id: string }>).map((e) => `${e.type}:${e.id}`).sort();
}

async function exportNdjson(s: TestServer): Promise<string> {
  const res = await fetch(`${s.url}/v1/spaces/default/profiles:export`, { headers: { authorization: s.basic(s.keys.adminKey) } });
  expect(res.status).toBe(200);
  return res.text();
}

describe('file imports over HTTP', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startServer();
  });
  afterEach(async () => {
    await s.close();
  });

  it('imports a CSV with quoted fields through identity resolution, typed traits and nested paths', async () => {
    const res = await upload(s, { mapping: example('crm-customers.mapping.yaml'), file: example('crm-customers.csv'), fileName: 'crm-customers.csv', query: 'source=crm' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.import).toMatchObject({ format: 'csv', compressed: false, rowsRead: 6, accepted: 6, duplicates: 0, rejected: 0, newProfiles: 6, merges: 0 });
    const maria = await traits(s, 'email:Maria.Garcia@example.com');
    expect(maria.status).toBe(200);
    expect(maria.body.traits).toMatchObject({ firstName: 'María', lastName: 'García', lifetimeValue: 2045.1, marketingOptIn: true, address: { city: 'Brooklyn, NY', country: 'US' }, customerSince: '2019-11-05T00:00:00.000Z' });
    // Identifiers are normalised exactly as live messages' are: the phone became E.164.
    expect(await externalIds(s, 'user_id:C-1004')).toEqual(['email:maria.garcia@example.com', 'phone:+16465550142', 'user_id:C-1004']);
  });

  it('imports NDJSON, JSON arrays and gzip-compressed files, linking them to the same people', async () => {
    expect((await upload(s, { mapping: example('crm-customers.mapping.yaml'), file: gzipSync(example('crm-customers.csv')), fileName: 'crm.csv.gz', query: 'source=crm' })).body.import).toMatchObject({ compressed: true, accepted: 6 });
    const loyalty = await upload(s, { mapping: example('loyalty-members.mapping.json'), file: example('loyalty-members.ndjson'), fileName: 'loyalty.ndjson', query: 'source=loyalty' });
    expect(loyalty.body.import).toMatchObject({ format: 'ndjson', rowsRead: 5, accepted: 5, rejected: 0, newProfiles: 1 });
    // The loyalty card of the member whose phone the CRM knows joined that customer's profile.
    expect(await externalIds(s, 'loyalty_id:LC-88003')).toEqual(['loyalty_id:LC-88003', 'phone:+14155550199', 'user_id:C-1005']);
    const calls = await upload(s, { mapping: example('contact-centre-log.mapping.yaml'), file: example('contact-centre-log.json'), fileName: 'calls.json', query: 'source=callcentre' });
    expect(calls.body.import).toMatchObject({ format: 'json', rowsRead: 4, accepted: 3, rejected: 1 });
    // The junk caller number is refused, and the element is named by the line it starts on.
    expect(calls.body.rejects).toEqual([expect.objectContaining({ line: 32, code: 'no_identifier' })]);
    const events = await request(`${s.url}/v1/spaces/default/collections/users/profiles/user_id:C-1001/events?limit=10`, { auth: s.basic(s.keys.readKey) });
    const call = events.body.data.find((e: any) => e.event === 'Support Call Resolved');
    expect(call).toMatchObject({ source_id: 'callcentre', properties: { durationSeconds: 412, queue: 'billing', call_id: 'CC-20240501-0007' } });
    expect(call.timestamp).toBe('2024-05-01T10:00:00.000Z');
  });

  it('rejects bad rows with their line number and reason while the rows around them are imported', async () => {
    const csv = [
      'id,email,visits,seen',
      'u1,a.one@example.com,3,2024-01-01',
      'u2,b.two@example.com,many,2024-01-02',
      'u3,c.three@example.com,5,2024-02-30',
      'u4,d.four@example.com,1',
      ',e.five@example.com,1,2024-01-05',
      'u6,not-an-email,2,2024-01-06',
      'u7,"g.seven@example.com",7,2024-01-07',
    ].join('\n');
    const mapping = JSON.stringify({ type: 'identify', key: 'id', timestamp: 'seen', columns: { email: { identifier: 'email' }, visits: { trait: 'visits', type: 'integer' } } });
    const res = await upload(s, { mapping, file: csv, fileName: 'people.csv', query: 'source=web-crm' });
    expect(res.status).toBe(200);
    expect(res.body.import).toMatchObject({ rowsRead: 7, accepted: 2, rejected: 5 });
    expect(res.body.rejects.map((r: any) => [r.line, r.code])).toEqual([
      [3, 'invalid_value'],
      [4, 'invalid_date'],
      [5, 'column_count'],
      [6, 'missing_key'],
      [7, 'no_identifier'],
    ]);
    expect(res.body.rejects[0].reason).toMatch(/"visits" value "many" is not an integer/);
    expect((await traits(s, 'email:a.one@example.com')).body.traits).toEqual({ visits: 3 });
    expect((await traits(s, 'email:g.seven@example.com')).body.traits).toEqual({ visits: 7 });
    expect((await traits(s, 'email:b.two@example.com')).status).toBe(404);
  });

  it('importing the same file twice changes nothing', async () => {
    const first = await upload(s, { mapping: example('pos-transactions.mapping.yaml'), file: example('pos-transactions.csv'), fileName: 'pos.csv', query: 'source=pos' });
    await upload(s, { mapping: example('loyalty-members.mapping.json'), file: example('loyalty-members.ndjson'), fileName: 'l.ndjson', query: 'source=loyalty' });
    expect(first.body.import).toMatchObject({ accepted: 5, rejected: 2 });
    const before = await exportNdjson(s);
    const statsBefore = await s.app.store.read.stats((await s.app.workspaces.byName('default'))!.id);
    const again = await upload(s, { mapping: example('pos-transactions.mapping.yaml'), file: example('pos-transactions.csv'), fileName: 'pos.csv', query: 'source=pos' });
    expect(again.body.import).toMatchObject({ rowsRead: 7, accepted: 0, duplicates: 5, rejected: 2, newProfiles: 0, merges: 0 });
    expect(await exportNdjson(s)).toBe(before);
    expect(await s.app.store.read.stats((await s.app.workspaces.byName('default'))!.id)).toEqual(statsBefore);
    // The same rows from another source are other messages.
    const other = await upload(s, { mapping: example('pos-transactions.mapping.yaml'), file: example('pos-transactions.csv'), fileName: 'pos.csv', query: 'source=pos-backfill' });
    expect(other.body.import).toMatchObject({ accepted: 5, duplicates: 0 });
  });

  it('enrichment adds traits to existing profiles only: it creates, links and merges nothing', async () => {
    await upload(s, { mapping: example('crm-customers.mapping.yaml'), file: example('crm-customers.csv'), fileName: 'crm.csv', query: 'source=crm' });
    const ws = (await s.app.workspaces.byName('default'))!;
    const before = await s.app.store.read.stats(ws.id);
    const res = await upload(s, { mapping: example('partner-enrichment.mapping.yaml'), file: example('partner-enrichment.csv'), fileName: 'partner.csv', query: 'source=partner&enrichOnly=true' });
    expect(res.body.import).toMatchObject({ enrichOnly: true, rowsRead: 4, matched: 3, unmatched: 1, ambiguous: 0, accepted: 3, newProfiles: 0, merges: 0 });
    const after = await s.app.store.read.stats(ws.id);
    expect(after.profiles).toBe(before.profiles);
    expect(after.identifiers).toBe(before.identifiers);
    expect((await traits(s, 'email:jane.doe@example.com')).body.traits.partner).toEqual({ incomeBand: '100-150k', interests: ['travel', 'cooking'], homeOwner: true });
    expect((await traits(s, 'email:somebody.new@example.com')).status).toBe(404);

    // A row whose identifiers belong to two profiles is refused (never merged); one carrying an
    // unknown identifier next to a known one adds traits but not the unknown identifier.
    const mapping = JSON.stringify({ type: 'identify', key: ['email', 'phone'], columns: { email: { identifier: 'email' }, phone: { identifier: 'phone' }, score: { trait: 'score', type: 'number' } } });
    const csv = 'email,phone,score\njane.doe@example.com,646-555-0142,1\nken.tanaka@example.com,503-555-0111,2\n';
    const mixed = await upload(s, { mapping, file: csv, fileName: 'mixed.csv', query: 'source=partner2&enrichOnly=true' });
    expect(mixed.body.import).toMatchObject({ matched: 1, ambiguous: 1, accepted: 1 });
    expect(mixed.body.rejects).toEqual([expect.objectContaining({ line: 2, code: 'ambiguous_match' })]);
    expect((await traits(s, 'email:ken.tanaka@example.com')).body.traits.score).toBe(2);
    expect(await externalIds(s, 'email:ken.tanaka@example.com')).toEqual(['email:ken.tanaka@example.com', 'user_id:C-1006']);
    expect((await traits(s, 'user_id:C-1001')).body.traits.score).toBeUndefined();
  });

  it('reports a mapping error, naming the field, before any row is written', async () => {
    const ws = (await s.app.workspaces.byName('default'))!;
    const typo = await upload(s, { mapping: 'type: identify\nkey: customer_id\ncolumns:\n  email: { identifer: email }\n', file: example('crm-customers.csv'), fileName: 'crm.csv', query: 'source=crm' });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toMatchObject({ code: 'invalid_mapping', field: 'mapping.columns.email.identifer' });
    expect(typo.body.error.message).toMatch(/unknown field "identifer"/);
    const missingColumn = await upload(s, { mapping: 'type: identify\nkey: customer_id\ncolumns:\n  e_mail: { identifier: email }\n', file: example('crm-customers.csv'), fileName: 'crm.csv', query: 'source=crm' });
    expect(missingColumn.status).toBe(400);
    expect(missingColumn.body.error).toMatchObject({ code: 'invalid_file' });
    expect(missingColumn.body.error.message).toMatch(/"e_mail"/);
    const yaml = await upload(s, { mapping: 'type: identify\n  key: [', file: 'a\n1\n', fileName: 'x.csv', query: 'source=crm' });
    expect(yaml.body.error.code).toBe('invalid_mapping');
    expect((await s.app.store.read.stats(ws.id)).messages).toBe(0);
  });

  it('needs the admin key, a source and a multipart body', async () => {
    const args = { mapping: example('crm-customers.mapping.yaml'), file: example('crm-customers.csv'), fileName: 'crm.csv' };
    expect((await upload(s, { ...args, query: 'source=crm', key: s.keys.writeKey })).status).toBe(403);
    expect((await upload(s, { ...args, query: '' })).body.error).toMatchObject({ code: 'missing_source', field: 'source' });
    const raw = await request(`${s.url}/v1/spaces/default/imports?source=crm`, { auth: s.basic(s.keys.adminKey), rawBody: 'a,b\n', headers: { 'content-type': 'text/csv' } });
    expect(raw.status).toBe(415);
    expect(raw.body.error.code).toBeDefined();
  });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kith(args: string[], opts: { dir: string; timeoutMs?: number } ): Promise<Run> & { child: ReturnType<typeof spawn> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, KITH_DB: join(opts.dir, 'decoy', 'kith.db') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kith ${args.join(' ')} did not finish\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return Object.assign(done, { child });
}

describe('kith import (CLI)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kith-import-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports the example files, writes a rejects file with line numbers and prints a summary', async () => {
    const db = join(dir, 'kith.db');
    expect((await kith(['workspace', 'create', 'default', '--db', db], { dir })).code).toBe(0);
    const crm = await kith(['import', join(EXAMPLES, 'crm-customers.csv'), '--source', 'crm', '--mapping', join(EXAMPLES, 'crm-customers.mapping.yaml'), '--db', db], { dir });
    expect(crm.code, crm.stderr).toBe(0);
    expect(crm.stdout).toMatch(/rows read\s+6/);
    expect(crm.stdout).toMatch(/new profiles\s+6/);
    const rejects = join(dir, 'pos.rejects.ndjson');
    const pos = await kith(['import', join(EXAMPLES, 'pos-transactions.csv'), '--source', 'pos', '--mapping', join(EXAMPLES, 'pos-transactions.mapping.yaml'), '--db', db, '--rejects', rejects, '--json'], { dir });
    expect(pos.code, pos.stderr).toBe(0);
    expect(JSON.parse(pos.stdout)).toMatchObject({ rowsRead: 7, accepted: 5, rejected: 2, rejectsFile: rejects });
    const lines = readFileSync(rejects, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, l.code])).toEqual([
      [6, 'invalid_date'],
      [7, 'no_identifier'],
    ]);
    expect(lines[0].record.order_id).toBe('POS-5505');
    // Not a terminal: progress comes as plain lines (or not at all for a file this small), never a bar.
    expect(pos.stderr).not.toMatch(/\r/);
  });

  it('refuses a bad mapping with one line before touching the database', async () => {
    const db = join(dir, 'kith.db');
    const mapping = join(dir, 'bad.yaml');
    writeFileSync(mapping, 'type: track\nkey: order_id\ncolumns:\n  loyalty_card: { identifier: loyalty_id }\n');
    const run = await kith(['import', join(EXAMPLES, 'pos-transactions.csv'), '--source', 'pos', '--mapping', mapping, '--db', db], { dir });
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^kith: mapping .*a track mapping needs "event"/);
    expect(existsSync(db)).toBe(false);
  });

  it('an import killed half way finishes when run again, with the same result as one clean run', async () => {
    const file = join(dir, 'big.csv');
    const rows = ['row,user,email,card,plan,spend,updated'];
    for (let i = 0; i < 20_000; i++) {
      const t = `2024-01-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z`;
      // Every tenth row is a bare store card, which the next row's customer then carries: merges,
      // some of them across batches.
      if (i % 10 === 9) rows.push(`r${i},,,CARD-${i},,,${t}`);
      else rows.push(`r${i},u${i},person${i}@example.com,${i % 10 === 0 && i > 0 ? `CARD-${i - 1}` : ''},${i % 3 === 0 ? 'pro' : 'free'},${(i % 97) + 0.5},${t}`);
    }
    writeFileSync(file, `${rows.join('\n')}\n`);
    const mapping = join(dir, 'big.yaml');
    writeFileSync(mapping, 'type: identify\nkey: row\ntimestamp: updated\ncolumns:\n  user: { identifier: user_id }\n  email: { identifier: email }\n  card: { identifier: card_id }\n  plan: { trait: plan }\n  spend: { trait: spend, type: number }\n');
    const args = (db: string) => ['import', file, '--source', 'billing', '--mapping', mapping, '--db', db, '--json'];

    const interrupted = join(dir, 'interrupted.db');
    const clean = join(dir, 'clean.db');
    for (const db of [interrupted, clean]) expect((await kith(['workspace', 'create', 'default', '--db', db], { dir })).code).toBe(0);

    const first = kith(args(interrupted), { dir });
    // Kill it (as a crash would) once some batches are committed and before the end.
    let committed = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      const conn = new Database(interrupted, { readonly: true, fileMustExist: true });
      try {
        committed = (conn.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
      } finally {
        conn.close();
      }
      if (committed > 0) break;
    }
    first.child.kill('SIGKILL');
    await first;
    expect(committed).toBeGreaterThan(0);
    expect(committed).toBeLessThan(20_000);

    const rerun = await kith(args(interrupted), { dir, timeoutMs: 120_000 });
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = JSON.parse(rerun.stdout);
    expect(summary.rowsRead).toBe(20_000);
    expect(summary.duplicates).toBeGreaterThanOrEqual(committed);
    expect(summary.accepted + summary.duplicates).toBe(20_000);

    const once = await kith(args(clean), { dir, timeoutMs: 120_000 });
    expect(once.code, once.stderr).toBe(0);
    // Profile ids hash the workspace id, which differs between the two databases: compare the rest.
    const exported = async (db: string): Promise<string[]> => {
      const out = await kith(['export', '--db', db], { dir });
      expect(out.code, out.stderr).toBe(0);
      return out.stdout.trim().split('\n').map((l) => {
        const { profile_id: _id, ...rest } = JSON.parse(l);
        return JSON.stringify(rest);
      }).sort();
    };
    const a = await exported(interrupted);
    expect(a.length).toBe(18_001);
    expect(a).toEqual(await exported(clean));
  }, 240_000);
});
