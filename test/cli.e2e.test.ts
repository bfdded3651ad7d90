import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { describe, expect, it, type TestContext } from 'vitest';
import { childEnv, finished, freePort, spawnKith as spawnChild, watchServe, type KithRun } from './kith-process.ts';

/**
 * The `kith` command as a user runs it: every test starts `node bin/kith.js ...` as a child
 * process, in its own temporary directory with its own `--db` file. The child's environment points
 * `KITH_DB` at a decoy file in that directory too, so a command that ignored `--db` fails the test
 * instead of touching the repository's `data/` folder. Every child has a deadline, and the test that
 * started it kills it and removes its directory when it finishes, whatever happened (per test, not
 * in `afterEach`, because the help and error tests run concurrently).
 */

/** A one-shot command loads TypeScript through tsx (about a second); this bounds a hung one. */
const COMMAND_TIMEOUT_MS = 30_000;
/** The server's own shutdown grace is 10 s; a stop that takes longer than this is a hang. */
const STOP_TIMEOUT_MS = 15_000;
const START_TIMEOUT_MS = 20_000;

type Run = KithRun;

interface Scratch {
  readonly dir: string;
  readonly db: string;
  /** Environment for children: no inherited KITH_DB/PORT/HOST; KITH_DB is a decoy inside `dir`. */
  readonly env: NodeJS.ProcessEnv;
  /** Children started for this test; killed when it finishes. */
  readonly children: Set<ChildProcess>;
}

type Ctx = Pick<TestContext, 'onTestFinished'>;

/** A temporary directory owned by the running test, with a `kith.db` path in it. */
function scratch(ctx: Ctx): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'kith-cli-'));
  const s: Scratch = { dir, db: join(dir, 'kith.db'), env: childEnv(dir), children: new Set() };
  ctx.onTestFinished(() => {
    for (const child of s.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** `node bin/kith.js ARGS` with piped output, owned by the scratch's test. */
function spawnKith(s: Scratch, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string }): ChildProcessByStdio<null, Readable, Readable> {
  const child = spawnChild(args, { env: opts.env ?? s.env, ...(opts.cwd === undefined ? {} : { cwd: opts.cwd }) });
  s.children.add(child);
  return child;
}

/** Runs `kith ARGS` to completion (or kills it at the deadline) and returns what it printed. */
function kith(s: Scratch, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<Run> {
  return finished(spawnKith(s, args, opts), args, opts.timeoutMs ?? COMMAND_TIMEOUT_MS);
}

function describeRun(r: Run): string {
  return `exit ${r.code} (signal ${r.signal})\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** Success: exit 0 and no error line (stderr may carry progress notes, never a `kith:` error). */
function expectOk(r: Run): void {
  expect(r.code, describeRun(r)).toBe(0);
  expect(r.stderr, describeRun(r)).not.toMatch(/^kith: /m);
}

/** A command-line failure as the issue describes it: non-zero exit, exactly one line on stderr, starting `kith:`. */
function expectOneLineError(r: Run, mentions?: RegExp): void {
  expect(r.code, describeRun(r)).not.toBe(0);
  expect(r.code, describeRun(r)).not.toBeNull();
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, `stderr should be one line:\n${describeRun(r)}`).toHaveLength(1);
  expect(lines[0], describeRun(r)).toMatch(/^kith: \S/);
  if (mentions !== undefined) expect(lines[0], describeRun(r)).toMatch(mentions);
}

interface Keys {
  readonly writeKey: string;
  readonly readKey: string;
  readonly adminKey: string;
}

interface Served {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the server printed so far. */
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and waits for the process to exit. */
  stop(signal: NodeJS.Signals): Promise<Run>;
}

/**
 * Starts `kith serve ARGS` and waits until `GET /health` answers 200. `port` is where to probe;
 * it must be what ARGS or the environment tell the server to use.
 */
async function serve(s: Scratch, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; port: number }): Promise<Served> {
  const child = spawnKith(s, ['serve', ...args], opts);
  const served = await watchServe(child, opts.port, START_TIMEOUT_MS);
  return {
    url: served.url,
    child,
    stdout: served.stdout,
    stderr: served.stderr,
    async stop(signal) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, fail) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          fail(new Error(`kith serve did not exit within ${STOP_TIMEOUT_MS} ms of ${signal}\n${served.output()}`));
        }, STOP_TIMEOUT_MS);
      });
      try {
        return await Promise.race([served.kill(signal), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The keys `kith serve` prints on the first start: the last token of the `write key`, `read key`, `admin key` lines. */
function printedKeys(stdout: string): Keys {
  const key = (label: string): string => {
    const line = stdout.split('\n').find((l) => l.includes(label));
    expect(line, `a "${label}" line in:\n${stdout}`).toBeDefined();
    const token = line!.trim().split(/\s+/).at(-1)!;
    expect(token.length, `key on "${line}"`).toBeGreaterThanOrEqual(16);
    return token;
  };
  return { writeKey: key('write key'), readKey: key('read key'), adminKey: key('admin key') };
}

function basic(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

async function postBatch(url: string, writeKey: string, batch: readonly object[]): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(writeKey) },
    body: JSON.stringify({ batch }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text: the assertion shows it
  }
  return { status: res.status, body };
}

/**
 * A fresh database with data in it, as a user gets it: `kith serve` on a new file (which creates
 * `default` and prints its keys), one batch sent through `/v1/batch`, then SIGTERM. Returns once
 * the server has exited, so the one-shot commands read a closed, consistent file.
 */
async function seeded(ctx: Ctx, batch: readonly object[]): Promise<Scratch & { keys: Keys; response: any }> {
  const s = scratch(ctx);
  const port = await freePort();
  const server = await serve(s, ['--db', s.db, '--port', String(port), '--quiet'], { port });
  const keys = printedKeys(server.stdout());
  const res = await postBatch(server.url, keys.writeKey, batch);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const stopped = await server.stop('SIGTERM');
  expect(stopped.code, describeRun(stopped)).toBe(0);
  return { ...s, keys, response: res.body };
}

const JANE = [
  { type: 'identify', userId: 'jane-1', traits: { email: 'Jane@Example.com', name: 'Jane Doe', plan: 'pro' }, messageId: 'jane-identify-1' },
  { type: 'track', userId: 'jane-1', event: 'Order Completed', properties: { total: 42 }, messageId: 'jane-order-1' },
  { type: 'page', anonymousId: 'jane-cookie-1', userId: 'jane-1', name: 'Pricing', messageId: 'jane-page-1' },
];
const BOB = [{ type: 'identify', userId: 'bob-1', traits: { email: 'bob@example.org', name: 'Bob' }, messageId: 'bob-identify-1' }];

describe('kith --help', () => {
  const commands: string[][] = [
    [],
    ['serve'],
    ['workspace'],
    ['workspace', 'create'],
    ['workspace', 'list'],
    ['profile'],
    ['explain'],
    ['unlink'],
    ['rules'],
    ['rules', 'get'],
    ['rules', 'set'],
    ['rejected'],
    ['demo'],
  ];

  it.concurrent.for(commands.map((c) => [c.join(' ') || '(top level)', c] as const))('kith %s --help exits 0 and prints usage', async ([, command], ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, [...command, '--help']);
    expectOk(r);
    expect(r.stdout).toContain(`Usage: ${['kith', ...command].join(' ')}`);
    expect(r.stdout).toMatch(/--help/);
  });

  it('the top-level help lists every command', async (ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, ['--help']);
    expectOk(r);
    for (const c of ['serve', 'workspace', 'profile', 'explain', 'unlink', 'rules', 'rejected', 'demo']) {
      expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    }
  });
});

describe('command-line mistakes', () => {
  it.concurrent.for([
    ['an unknown command', ['frobnicate'], /frobnicate/],
    ['an unknown option', ['workspace', 'list', '--frobnicate'], /--frobnicate/],
    ['an unknown option on profile', ['profile', 'email:a@example.com', '--frobnicate'], /--frobnicate/],
    ['a missing argument', ['profile'], /identifier/],
    ['a missing second argument', ['explain', 'email:a@example.com'], /\bb\b|argument/],
    ['a missing workspace name', ['workspace', 'create'], /name/],
  ] as const)('%s: non-zero exit and one line on stderr', async ([, args, mentions], ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, [...args, '--db', s.db]);
    expectOneLineError(r, mentions);
    expect(r.stdout).toBe('');
  });

  it('a malformed identifier is one line naming the expected form', async (ctx) => {
    const s = await seeded(ctx, BOB);
    const r = await kith(s, ['profile', 'no-colon-here', '--db', s.db]);
    expectOneLineError(r, /TYPE:VALUE|type/i);
  });

  it('a workspace that does not exist is one line naming it', async (ctx) => {
    const s = await seeded(ctx, BOB);
    const r = await kith(s, ['profile', 'email:bob@example.org', '--db', s.db, '--workspace', 'nope']);
    expectOneLineError(r, /nope/);
  });
});

describe('kith workspace', () => {
  it('create --json prints exactly one JSON object with the three keys', async (ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, ['workspace', 'create', 'acme', '--db', s.db, '--json']);
    expectOk(r);
    const out = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(Object.keys(out).sort()).toEqual(['adminKey', 'readKey', 'workspace', 'writeKey']);
    expect(out.workspace).toBe('acme');
    for (const k of ['writeKey', 'readKey', 'adminKey'] as const) {
      expect(typeof out[k], k).toBe('string');
      expect((out[k] as string).length, k).toBeGreaterThanOrEqual(16);
    }
    expect(new Set([out.writeKey, out.readKey, out.adminKey]).size).toBe(3);
    expect(existsSync(s.db), 'the --db file was created').toBe(true);
    expect(existsSync(join(s.dir, 'decoy')), 'KITH_DB was not used when --db is given').toBe(false);
  });

  it('creating the same workspace twice fails with one line', async (ctx) => {
    const s = scratch(ctx);
    expectOk(await kith(s, ['workspace', 'create', 'acme', '--db', s.db, '--json']));
    const again = await kith(s, ['workspace', 'create', 'acme', '--db', s.db, '--json']);
    expectOneLineError(again, /acme/);
    expect(again.stdout).toBe('');
  });

  it.for(['Acme!', 'UPPER', '_leading-underscore', 'has space'])('an invalid name (%s) fails with one line', async (name, ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, ['workspace', 'create', name, '--db', s.db, '--json']);
    expectOneLineError(r, /name/);
    expect(r.stdout).toBe('');
  });

  it('keys are stored hashed: no column of api_keys holds a plain key', async (ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, ['workspace', 'create', 'acme', '--db', s.db, '--json']);
    expectOk(r);
    const keys = JSON.parse(r.stdout.trim()) as Keys;
    const db = new Database(s.db, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT * FROM api_keys').all() as Array<Record<string, unknown>>;
      expect(rows.length, 'one row per key').toBeGreaterThanOrEqual(3);
      for (const row of rows) {
        for (const [column, value] of Object.entries(row)) {
          const text = value === null ? '' : Buffer.isBuffer(value) ? value.toString('latin1') + value.toString('hex') : String(value);
          for (const plain of [keys.writeKey, keys.readKey, keys.adminKey]) {
            expect(text.includes(plain), `api_keys.${column} contains a plain key`).toBe(false);
          }
        }
      }
    } finally {
      db.close();
    }
  });

  it('list shows every workspace', async (ctx) => {
    const s = scratch(ctx);
    expectOk(await kith(s, ['workspace', 'create', 'acme', '--db', s.db, '--json']));
    expectOk(await kith(s, ['workspace', 'create', 'beta-2', '--db', s.db]));
    const r = await kith(s, ['workspace', 'list', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toMatch(/^acme\b/m);
    expect(r.stdout).toMatch(/^beta-2\b/m);
    const json = await kith(s, ['workspace', 'list', '--db', s.db, '--json']);
    expectOk(json);
    const rows = JSON.parse(json.stdout.trim()) as Array<{ workspace: string }>;
    expect(rows.map((w) => w.workspace).sort()).toEqual(['acme', 'beta-2']);
  });
});

describe('kith serve', () => {
  it('the first start prints the default keys once, they work, and a second start prints none', async (ctx) => {
    const s = scratch(ctx);
    const port = await freePort();
    const first = await serve(s, ['--db', s.db, '--port', String(port), '--quiet'], { port });
    const keys = printedKeys(first.stdout());
    expect(first.stdout()).toMatch(/default/);

    const sent = await postBatch(first.url, keys.writeKey, BOB);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    const traits = await fetch(`${first.url}/v1/spaces/default/collections/users/profiles/email:bob@example.org/traits`, {
      headers: { authorization: basic(keys.readKey) },
    });
    expect(traits.status).toBe(200);
    expect(((await traits.json()) as { traits: Record<string, unknown> }).traits).toMatchObject({ name: 'Bob' });
    const stopped = await first.stop('SIGTERM');
    expect(stopped.code, describeRun(stopped)).toBe(0);

    const second = await serve(s, ['--db', s.db, '--port', String(port), '--quiet'], { port });
    expect(second.stdout()).not.toMatch(/write key|read key|admin key/);
    for (const k of Object.values(keys)) expect(second.stdout()).not.toContain(k);
    const again = await postBatch(second.url, keys.writeKey, [{ type: 'track', userId: 'bob-1', event: 'Came Back', messageId: 'bob-back-1' }]);
    expect(again.status, `the first start's write key still works: ${JSON.stringify(again.body)}`).toBe(200);
    const stoppedAgain = await second.stop('SIGTERM');
    expect(stoppedAgain.code, describeRun(stoppedAgain)).toBe(0);
    expect(stoppedAgain.stdout).not.toMatch(/write key|read key|admin key/);
  });

  it.for(['SIGTERM', 'SIGINT'] as const)('%s after ingest: exits 0, says it stopped cleanly, and the data is kept', async (signal, ctx) => {
    const s = scratch(ctx);
    const port = await freePort();
    const server = await serve(s, ['--db', s.db, '--port', String(port), '--quiet'], { port });
    const keys = printedKeys(server.stdout());
    const sent = await postBatch(server.url, keys.writeKey, JANE);
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ accepted: JANE.length });

    const stopped = await server.stop(signal);
    expect(stopped.code, describeRun(stopped)).toBe(0);
    expect(stopped.signal).toBeNull();
    expect(stopped.stdout).toMatch(/stopped cleanly/);
    expect(stopped.stderr, describeRun(stopped)).toBe('');

    const profile = await kith(s, ['profile', 'user_id:jane-1', '--db', s.db, '--json']);
    expectOk(profile);
    const view = JSON.parse(profile.stdout.trim()) as { recentEvents: Array<{ messageId: string }> };
    expect(view.recentEvents.map((e) => e.messageId).sort()).toEqual(JANE.map((m) => m.messageId).sort());
  });

  it('honours KITH_DB and PORT when --db and --port are absent', async (ctx) => {
    const s = scratch(ctx);
    const port = await freePort();
    const db = join(s.dir, 'from-env.db');
    const server = await serve(s, ['--quiet'], { env: { ...s.env, KITH_DB: db, PORT: String(port) }, port });
    expect(server.stdout()).toContain(`127.0.0.1:${port}`);
    expect(server.stdout()).toContain(db);
    printedKeys(server.stdout());
    const stopped = await server.stop('SIGTERM');
    expect(stopped.code, describeRun(stopped)).toBe(0);
    expect(existsSync(db), `${db} was created`).toBe(true);
    const list = await kith(s, ['workspace', 'list', '--db', db]);
    expectOk(list);
    expect(list.stdout).toMatch(/^default\b/m);
  });

  it('flags win over KITH_DB and PORT', async (ctx) => {
    const s = scratch(ctx);
    const port = await freePort();
    const server = await serve(s, ['--db', s.db, '--port', String(port), '--quiet'], { env: { ...s.env, PORT: '1' }, port });
    expect(server.stdout()).toContain(s.db);
    const stopped = await server.stop('SIGTERM');
    expect(stopped.code, describeRun(stopped)).toBe(0);
    expect(existsSync(join(s.dir, 'decoy'))).toBe(false);
  });

  it('an invalid --port is one line and a non-zero exit', async (ctx) => {
    const s = scratch(ctx);
    const r = await kith(s, ['serve', '--db', s.db, '--port', 'eighty']);
    expectOneLineError(r, /port/);
  });
});

describe('one-shot commands on a stopped server’s database', () => {
  it('profile shows identifiers, traits and recent events', async (ctx) => {
    const s = await seeded(ctx, [...JANE, ...BOB]);
    const r = await kith(s, ['profile', 'email:jane@example.com', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toMatch(/Profile prf_\S+/);
    for (const id of ['email:jane@example.com', 'user_id:jane-1', 'anonymous_id:jane-cookie-1']) expect(r.stdout).toContain(id);
    expect(r.stdout).not.toContain('bob');
    expect(r.stdout).toMatch(/name: "Jane Doe"/);
    expect(r.stdout).toMatch(/plan: "pro"/);
    for (const m of JANE) expect(r.stdout).toContain(m.messageId);
    expect(r.stdout).toContain('Order Completed');
  });

  it('profile --json (looked up with a differently-cased email) has the same content as one JSON document', async (ctx) => {
    const s = await seeded(ctx, [...JANE, ...BOB]);
    const r = await kith(s, ['profile', 'email:Jane@Example.com', '--db', s.db, '--json']);
    expectOk(r);
    const view = JSON.parse(r.stdout.trim()) as {
      profileId: string;
      identifiers: Array<{ type: string; value: string }>;
      traits: Record<string, unknown>;
      recentEvents: Array<{ messageId: string; type: string; event: string | null }>;
    };
    expect(view.profileId).toMatch(/^prf_/);
    expect(view.identifiers.map((i) => `${i.type}:${i.value}`).sort()).toEqual(['anonymous_id:jane-cookie-1', 'email:jane@example.com', 'user_id:jane-1']);
    expect(view.traits).toMatchObject({ name: 'Jane Doe', plan: 'pro' });
    expect(view.recentEvents.map((e) => e.messageId).sort()).toEqual(JANE.map((m) => m.messageId).sort());
    expect(view.recentEvents).toContainEqual(expect.objectContaining({ type: 'track', event: 'Order Completed', messageId: 'jane-order-1' }));
  });

  it('profile of an unknown identifier is one line and a non-zero exit', async (ctx) => {
    const s = await seeded(ctx, JANE);
    const r = await kith(s, ['profile', 'email:nobody@example.com', '--db', s.db]);
    expectOneLineError(r, /nobody@example\.com/);
    expect(r.stdout).toBe('');
  });

  it('explain shows the chain of evidence with the message id', async (ctx) => {
    const s = await seeded(ctx, JANE);
    const r = await kith(s, ['explain', 'email:jane@example.com', 'anonymous_id:jane-cookie-1', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toMatch(/are in profile prf_/);
    // email joins user_id in the identify; user_id joins the cookie in the page view.
    expect(r.stdout).toContain('jane-identify-1');
    expect(r.stdout).toContain('jane-page-1');
    expect(r.stdout).not.toMatch(/not linked/);
  });

  it('explain of two people who are not linked says so', async (ctx) => {
    const s = await seeded(ctx, [...JANE, ...BOB]);
    const r = await kith(s, ['explain', 'email:jane@example.com', 'email:bob@example.org', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toMatch(/not linked/);
  });

  it('rejected lists an invalid message of a batch with its reason', async (ctx) => {
    const s = await seeded(ctx, [...BOB, { type: 'track', event: 'No Identity', messageId: 'bad-track-1' }]);
    expect(s.response).toMatchObject({ accepted: 1 });
    const r = await kith(s, ['rejected', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toContain('bad-track-1');
    expect(r.stdout).toMatch(/userId|anonymousId/);
    expect(r.stdout).not.toContain('bob-identify-1');
  });

  it('rejected with nothing rejected says so', async (ctx) => {
    const s = await seeded(ctx, BOB);
    const r = await kith(s, ['rejected', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toMatch(/no rejected messages/);
  });

  it('rules get prints the rules; rules set changes one field and prints the result', async (ctx) => {
    const s = await seeded(ctx, BOB);
    const before = await kith(s, ['rules', 'get', '--db', s.db]);
    expectOk(before);
    const rules = JSON.parse(before.stdout.trim()) as { types: Record<string, { priority: number; limit?: number }> };
    expect(rules.types.email).toBeDefined();
    expect(rules.types.email!.limit).not.toBe(2);

    const set = await kith(s, ['rules', 'set', '{"types":{"email":{"limit":2}}}', '--db', s.db]);
    expectOk(set);
    const updated = JSON.parse(set.stdout.trim()) as typeof rules;
    expect(updated.types.email).toEqual({ priority: rules.types.email!.priority, limit: 2 });
    expect(updated.types.user_id).toEqual(rules.types.user_id);

    const after = await kith(s, ['rules', 'get', '--db', s.db]);
    expectOk(after);
    expect(JSON.parse(after.stdout.trim())).toEqual(updated);
  });

  it('rules set with invalid JSON is one line and changes nothing', async (ctx) => {
    const s = await seeded(ctx, BOB);
    const before = await kith(s, ['rules', 'get', '--db', s.db]);
    const r = await kith(s, ['rules', 'set', '{"types":', '--db', s.db]);
    expectOneLineError(r, /JSON/);
    const after = await kith(s, ['rules', 'get', '--db', s.db]);
    expect(after.stdout).toBe(before.stdout);
  });

  it.for([
    ['{"types":{"email":{"limit":"two"}}}', 'types.email.limit'],
    ['{"types":{"email":{"limt":2}}}', 'types.email.limt'],
    ['{"quarantine_typo":true}', 'quarantine_typo'],
  ] as const)('rules set %s is one line naming %s', async ([doc, field], ctx) => {
    const s = await seeded(ctx, BOB);
    const r = await kith(s, ['rules', 'set', doc, '--db', s.db]);
    expectOneLineError(r, new RegExp(field.replace(/\./g, '\\.')));
  });

  it('unlink splits a profile held together by that identifier', async (ctx) => {
    // The cookie is the only thing joining the email (first visit) and the user id (later login).
    const s = await seeded(ctx, [
      { type: 'identify', anonymousId: 'bridge-cookie', traits: { email: 'bridge@example.com' }, messageId: 'bridge-1' },
      { type: 'identify', anonymousId: 'bridge-cookie', userId: 'bridge-user', messageId: 'bridge-2' },
    ]);
    const ids = async (key: string): Promise<{ profileId: string; ids: string[]; history: Array<{ kind: string }> }> => {
      const r = await kith(s, ['profile', key, '--db', s.db, '--json']);
      expectOk(r);
      const v = JSON.parse(r.stdout.trim()) as { profileId: string; identifiers: Array<{ type: string; value: string }>; history: Array<{ kind: string }> };
      return { profileId: v.profileId, ids: v.identifiers.map((i) => `${i.type}:${i.value}`).sort(), history: v.history };
    };
    const whole = await ids('email:bridge@example.com');
    expect(whole.ids).toEqual(['anonymous_id:bridge-cookie', 'email:bridge@example.com', 'user_id:bridge-user']);

    const r = await kith(s, ['unlink', 'anonymous_id:bridge-cookie', '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toContain('anonymous_id:bridge-cookie');

    const byEmail = await ids('email:bridge@example.com');
    const byUser = await ids('user_id:bridge-user');
    expect(byEmail.ids).toEqual(['email:bridge@example.com']);
    expect(byUser.ids).toEqual(['user_id:bridge-user']);
    expect(byEmail.profileId).not.toBe(byUser.profileId);
    expect([...byEmail.history, ...byUser.history].map((h) => h.kind), 'the split is in the history').toContain('split');

    const explained = await kith(s, ['explain', 'email:bridge@example.com', 'user_id:bridge-user', '--db', s.db]);
    expectOk(explained);
    expect(explained.stdout).toMatch(/not linked/);
  });

  it('unlink of an identifier nobody has is one line and a non-zero exit', async (ctx) => {
    const s = await seeded(ctx, BOB);
    const r = await kith(s, ['unlink', 'email:ghost@example.com', '--db', s.db]);
    expectOneLineError(r, /ghost@example\.com/);
  });

  it('workspace list shows default with its counts', async (ctx) => {
    const s = await seeded(ctx, [...JANE, ...BOB, { type: 'track', messageId: 'bad-2' }]);
    const r = await kith(s, ['workspace', 'list', '--db', s.db, '--json']);
    expectOk(r);
    const rows = JSON.parse(r.stdout.trim()) as Array<Record<string, unknown>>;
    expect(rows).toEqual([expect.objectContaining({ workspace: 'default', messages: JANE.length + BOB.length, profiles: 2, rejected: 1 })]);
    const text = await kith(s, ['workspace', 'list', '--db', s.db]);
    expectOk(text);
    expect(text.stdout).toMatch(/^default\b.*\b4 messages\b.*\b2 profiles\b/m);
  });
});

describe('kith demo', () => {
  /** Runs the demo against a fresh server and returns the server (still running) and the demo's output. */
  async function demo(ctx: Ctx): Promise<{ s: Scratch; server: Served; run: Run }> {
    const s = scratch(ctx);
    const port = await freePort();
    const server = await serve(s, ['--db', s.db, '--port', String(port), '--quiet'], { port });
    const run = await kith(s, ['demo', '--people', '20', '--url', server.url, '--db', s.db], { timeoutMs: 60_000 });
    return { s, server, run };
  }

  /** The arguments of the `kith VERB ...` command the demo suggests (what follows `kith`). */
  function suggested(stdout: string, verb: 'profile' | 'explain'): string[] {
    const line = stdout.split('\n').find((l) => new RegExp(`\\bkith ${verb}\\b`).test(l));
    expect(line, `a suggested "kith ${verb}" command in:\n${stdout}`).toBeDefined();
    const words = line!.trim().split(/\s+/);
    return words.slice(words.indexOf('kith') + 1);
  }

  it('sends a dataset to a running server and prints a summary with a profile to look at', async (ctx) => {
    const { s, server, run } = await demo(ctx);
    expectOk(run);
    const summary = /(\d+) accepted/.exec(run.stdout);
    expect(summary, run.stdout).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(20);
    const args = suggested(run.stdout, 'profile');
    expect(args[0]).toBe('profile');
    expect(args[1]).toMatch(/^email:\S+@\S+$/);

    // The server has the data now, and it can be read while the server runs.
    const live = await kith(s, [...args, '--db', s.db, '--json']);
    expectOk(live);
    const stopped = await server.stop('SIGTERM');
    expect(stopped.code, describeRun(stopped)).toBe(0);
    expect(stopped.stderr, describeRun(stopped)).toBe('');

    const r = await kith(s, [...args, '--db', s.db]);
    expectOk(r);
    expect(r.stdout).toContain(args[1]!);
    expect(r.stdout).toMatch(/Identifiers \(\d+\)/);
    const e = await kith(s, [...suggested(run.stdout, 'explain'), '--db', s.db]);
    expectOk(e);
    expect(e.stdout, 'the suggested pair is one person').toMatch(/are in profile/);
  });

  it('the suggested profile command works as printed (it names the database the demo wrote to)', async (ctx) => {
    const { s, server, run } = await demo(ctx);
    expectOk(run);
    await server.stop('SIGTERM');
    // Run exactly what was printed, from a directory of our own so a command that falls back to
    // the default data/kith.db cannot touch the repository's.
    const env = { ...s.env };
    delete env.KITH_DB;
    const r = await kith(s, suggested(run.stdout, 'profile'), { env, cwd: s.dir });
    expectOk(r);
    expect(r.stdout).toMatch(/Identifiers \(\d+\)/);
  });

  it('with no server running: one line and a non-zero exit', async (ctx) => {
    const s = scratch(ctx);
    expectOk(await kith(s, ['workspace', 'create', 'default', '--db', s.db]));
    const port = await freePort();
    const r = await kith(s, ['demo', '--people', '20', '--url', `http://127.0.0.1:${port}`, '--db', s.db]);
    expectOneLineError(r, new RegExp(String(port)));
    expect(r.stdout).toBe('');
  });
});
