import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { startServer, type TestServer } from './harness.ts';
import { routesOf, type RouteEntry } from './server-routes.ts';

/**
 * Hostile input against the real server, on every route it has: malformed and hostile JSON, wrong
 * types in every field, deep nesting, huge strings and arrays, prototype-polluting keys, numbers as
 * ids, out-of-range numbers and dates, SQL and HTML in values, broken percent-encoding, repeated
 * query parameters, garbage keys, and raw-socket requests (invalid HTTP, truncated and slow bodies).
 * Whatever arrives: never a 5xx, never a crash or a hang, Object.prototype untouched, every refusal a
 * 4xx `{ error: { code, message } }`, and a batch's valid messages accepted and readable through the
 * Profile API next to hostile neighbours. Bounded: each property stops after its run count or its
 * time budget, whichever comes first, so the file runs in seconds.
 */

// ------------------------------------------------------------------------------------------------
// JSON text with full control: object entries keep `__proto__` as a plain key, and raw tokens carry
// what JSON.stringify cannot produce (1e999, NaN, deep nesting, truncation).

class Raw {
  constructor(readonly text: string) {}
}
class Entries {
  constructor(readonly entries: readonly (readonly [string, J])[]) {}
}
type J = null | boolean | number | string | Raw | Entries | readonly J[];

function text(value: J): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Entries) return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${text(v)}`).join(',')}}`;
  if (Array.isArray(value)) return `[${value.map(text).join(',')}]`;
  return JSON.stringify(value) ?? 'null';
}

const obj = (o: Record<string, J>): Entries => new Entries(Object.entries(o));

const HOSTILE_STRINGS = [
  "' OR '1'='1",
  "'; DROP TABLE messages; --",
  'Robert"); DELETE FROM identifiers; --',
  '<script>alert(document.cookie)</script>',
  '<img src=x onerror=alert(1)>',
  '${7*7}{{7*7}}',
  '../../../../etc/passwd',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u200b\ufeff',
  '\r\nX-Injected: yes',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-Infinity',
  '[object Object]',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '0',
  '-1',
  ' ',
  '',
  '0000-01-01T00:00:00Z',
  '0000-00-00T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '10000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '-000001-01-01T00:00:00Z',
  '2024-02-30T12:00:00Z',
  '2024-05-01T25:61:61+99:99',
  'email:jane@example.com',
  'profile_id:prf_x',
  '%00%ff%zz',
  '😀'.repeat(50),
];
const KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'polluted', 'type', 'userId', 'email', 'phone', ''];
const RAW_NUMBERS = ['1e999', '-1e999', '1E400', '-0', '123456789012345678901234567890', '0.0000000000000000000000001', '1e-400'];

const hostileString: fc.Arbitrary<J> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 40_000 }).map((n) => 'x'.repeat(n)) },
);
const hostileNumber: fc.Arbitrary<J> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(...RAW_NUMBERS).map((t) => new Raw(t)),
  fc.constantFrom(0, -1, Number.MAX_SAFE_INTEGER, 2 ** 64),
);
/** Nesting far past the validator's 32 levels, as raw text (cheap to build, any depth). */
const deepValue: fc.Arbitrary<J> = fc
  .tuple(fc.integer({ min: 20, max: 5_000 }), fc.boolean())
  .map(([depth, arrays]) => new Raw(arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));
const hugeArray: fc.Arbitrary<J> = fc.integer({ min: 100, max: 3_000 }).map((n) => new Raw(`[${Array(n).fill('"x"').join(',')}]`));
const pollution: fc.Arbitrary<J> = fc.constantFrom<J>(
  obj({ __proto__: obj({ polluted: 'yes' }) }),
  obj({ constructor: obj({ prototype: obj({ polluted: 'yes' }) }) }),
  obj({ a: obj({ __proto__: obj({ polluted: 'yes' }), b: 1 }) }),
  [obj({ __proto__: obj({ polluted: 'yes' }) })],
);

const { value: hostileValue } = fc.letrec<{ value: J }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: hostileString },
    { weight: 3, arbitrary: hostileNumber },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: pollution },
    { weight: 1, arbitrary: deepValue },
    { weight: 1, arbitrary: hugeArray },
    { weight: 2, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
    {
      weight: 2,
      arbitrary: fc.array(fc.tuple(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 10 })), tie('value')), { maxLength: 4 }).map((e) => new Entries(e)),
    },
  ),
}));

const MESSAGE_FIELDS = [
  'type', 'userId', 'anonymousId', 'messageId', 'event', 'name', 'category', 'previousId', 'groupId',
  'timestamp', 'originalTimestamp', 'sentAt', 'context', 'traits', 'properties', 'integrations', 'writeKey',
] as const;
const plausible: Record<(typeof MESSAGE_FIELDS)[number], fc.Arbitrary<J>> = {
  type: fc.constantFrom('identify', 'track', 'page', 'screen', 'group', 'alias'),
  userId: fc.string({ minLength: 1, maxLength: 12 }).map((s) => `fz-${s}`),
  anonymousId: fc.uuid(),
  messageId: fc.uuid(),
  event: fc.constantFrom('Order Completed', 'Signed Up'),
  name: fc.constant('Home'),
  category: fc.constant('Docs'),
  previousId: fc.uuid(),
  groupId: fc.constant('g-1'),
  timestamp: fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString()),
  originalTimestamp: fc.constant('2024-05-01T12:00:00Z'),
  sentAt: fc.constant('2024-05-01T12:00:01Z'),
  context: fc.constant(obj({ ip: '10.0.0.1', traits: obj({ email: 'fz@example.com' }), externalIds: [obj({ id: 'L-1', type: 'loyalty_id' })] })),
  traits: fc.constant(obj({ email: 'fz@example.com', phone: '+1 415 555 0134', plan: 'pro' })),
  properties: fc.constant(obj({ revenue: 42.5 })),
  integrations: fc.constant(obj({ All: true })),
  writeKey: fc.constant('not-a-key'),
};
/** A message whose every field is absent, plausible or hostile, plus extra hostile top-level keys. */
const hostileMessage: fc.Arbitrary<J> = fc
  .tuple(
    fc.tuple(...MESSAGE_FIELDS.map((f) => fc.option(fc.oneof(plausible[f], hostileValue), { nil: undefined, freq: 3 }))),
    fc.array(fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'receivedAt'), hostileValue), { maxLength: 2 }),
  )
  .map(([values, extra]) => {
    const entries: [string, J][] = [];
    MESSAGE_FIELDS.forEach((f, i) => {
      const v = values[i];
      if (v !== undefined) entries.push([f, v]);
    });
    return new Entries([...entries, ...extra]);
  });
/** Whole bodies that are not the JSON they claim to be. */
const brokenBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.constantFrom('', '{', '{"userId":', '{"batch":[', '[]', 'null', 'true', '"text"', '1', 'NaN', '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', '\ufeff{}', '{"userId":"\\ud800"}', '{"x":"\\u00"}').map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  // Invalid UTF-8 inside otherwise valid JSON.
  fc.constantFrom([0xff, 0xfe], [0xc3, 0x28], [0xe2, 0x82], [0xf0, 0x28, 0x8c, 0x28], [0xed, 0xa0, 0x80]).map((bytes) =>
    Buffer.concat([Buffer.from('{"type":"track","userId":"fz-utf8-'), Buffer.from(bytes), Buffer.from('","event":"E","properties":{"v":"'), Buffer.from(bytes), Buffer.from('"}}')]),
  ),
  // Valid JSON cut off at a random point.
  fc.tuple(hostileMessage, fc.double({ min: 0, max: 1, noNaN: true })).map(([m, at]) => {
    const t = Buffer.from(text(m));
    return t.subarray(0, Math.floor(t.length * at));
  }),
);

// ------------------------------------------------------------------------------------------------
// Checking answers

let requestsSent = 0;
let socketCases = 0;
const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort().join(',');
const ARRAY_PROTO_KEYS = Object.getOwnPropertyNames(Array.prototype).sort().join(',');

function assertNotPolluted(): void {
  expect(({} as Record<string, unknown>).polluted, 'Object.prototype.polluted').toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort().join(',')).toBe(PROTO_KEYS);
  expect(Object.getOwnPropertyNames(Array.prototype).sort().join(',')).toBe(ARRAY_PROTO_KEYS);
}

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: any;
}

/** Never a 5xx; a 4xx (and a 300 from a split profile) is `{ error: { code, message } }`. */
function assertWellFormed(what: string, method: string, a: Answer): void {
  expect(a.status, `${what} → ${a.status} ${a.text.slice(0, 300)}`).toBeLessThan(500);
  if ((a.status >= 400 || a.status === 300) && method !== 'HEAD') {
    expect(typeof a.json?.error?.code, `${what} → ${a.status} ${a.text.slice(0, 300)}`).toBe('string');
    expect(a.json.error.code.length).toBeGreaterThan(0);
    expect(typeof a.json.error.message).toBe('string');
    expect(a.json.error.message.length).toBeGreaterThan(0);
  }
}

async function send(url: string, init: { method: string; headers?: Record<string, string>; body?: Buffer }): Promise<Answer> {
  requestsSent++;
  // A hang is a failure: no request may take longer than this.
  const res = await fetch(url, { method: init.method, headers: init.headers, body: init.body, signal: AbortSignal.timeout(15_000) });
  const body = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: res.status, text: body, json };
}

// ------------------------------------------------------------------------------------------------
// Routes, as the server itself lists them, so a new route is fuzzed without editing this file.


// ------------------------------------------------------------------------------------------------
// Raw sockets

/**
 * Writes `parts` to a fresh connection (pausing `pauseMs` between them), half-closes when `end`
 * (or after `patienceMs`, 2 s by default: a request whose framing promised more bytes is then cut short), and
 * collects what the server sends until it closes the connection. Fails on a hang.
 */
function exchange(port: number, parts: readonly Buffer[], opts: { end: boolean; pauseMs?: number; patienceMs?: number }): Promise<string> {
  socketCases++;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server neither answered nor closed within 15 s; sent ${JSON.stringify(Buffer.concat(parts).toString('latin1').slice(0, 300))}`));
    }, 15_000);
    socket.on('data', (d) => received.push(d));
    socket.on('error', () => undefined); // a reset is an answer too: the server closed on us
    const impatient = setTimeout(() => socket.end(), opts.patienceMs ?? 2_000);
    socket.on('close', () => {
      clearTimeout(timer);
      clearTimeout(impatient);
      resolve(Buffer.concat(received).toString('utf8'));
    });
    socket.on('connect', async () => {
      for (const [i, part] of parts.entries()) {
        if (i > 0 && opts.pauseMs !== undefined) await new Promise((r) => setTimeout(r, opts.pauseMs));
        if (socket.destroyed) return;
        socket.write(part);
      }
      if (opts.end) socket.end();
    });
  });
}

/** Every response in a raw exchange: status, and a parsed JSON body when there is one. */
function responsesIn(raw: string): Answer[] {
  const answers: Answer[] = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd === -1) break;
    const head = rest.slice(0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? '0');
    const body = rest.slice(headEnd + 4, headEnd + 4 + length);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    answers.push({ status, text: body, json });
    rest = rest.slice(headEnd + 4 + length);
  }
  return answers;
}

// ------------------------------------------------------------------------------------------------

const TRACKING = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
/**
 * A property's bounds: `numRuns` cases, or 6 s, whichever comes first. A failure prints its seed and
 * path; `KITH_FUZZ_SEED=... KITH_FUZZ_PATH=...` replays it. `KITH_FUZZ_SCALE=20` searches longer.
 */
function runs(numRuns: number): fc.Parameters<unknown> {
  const scale = Number(process.env.KITH_FUZZ_SCALE ?? '1');
  const seed = process.env.KITH_FUZZ_SEED;
  const replay = seed === undefined ? {} : { seed: Number(seed), path: process.env.KITH_FUZZ_PATH, endOnFailure: true };
  return { numRuns: numRuns * scale, interruptAfterTimeLimit: 6_000 * scale, ...replay };
}

describe('hostile input on every endpoint', () => {
  let t: TestServer;
  let port: number;
  let other: { writeKey: string; readKey: string; adminKey: string };
  let spareKeyId: string;
  let routes: RouteEntry[];
  const roleOf = new Map<string, 'write' | 'read' | 'admin'>();
  const profiles = '/v1/spaces/default/collections/users/profiles';

  beforeAll(async () => {
    t = await startServer();
    port = Number(new URL(t.url).port);
    const created = await t.app.workspaces.create('other');
    if (!created.ok) throw new Error(created.message);
    other = created.created;
    const ws = (await t.app.workspaces.byName('default'))!;
    spareKeyId = (await t.app.workspaces.authenticate(await t.app.workspaces.addKey(ws.id, 'read', 'spare')))!.id;
    const seed = await send(`${t.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: t.basic(t.keys.writeKey), 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ userId: 'fz-seed', anonymousId: 'fz-seed-anon', traits: { email: 'fz-seed@example.com' } })),
    });
    expect(seed.status).toBe(200);
    await t.server.ready();
    routes = routesOf(t.server);
    // Which key each route takes, found by asking it: the fuzzer then mostly sends the right one, so
    // hostile input reaches the handlers rather than stopping at authentication.
    for (const route of routes) {
      if (route.method === 'HEAD' || route.url === '*') continue;
      // Nothing that exists: probing DELETE routes must not erase or revoke what the tests use.
      const url = fill(route.url, { ws: 'default', id: 'user_id:fz-probe', key: 'anonymous_id:fz-probe', keyId: 'key_none' });
      for (const role of ['write', 'read', 'admin'] as const) {
        const a = await send(`${t.url}${url}`, { method: route.method, headers: { authorization: t.basic(t.keys[`${role}Key`]) } });
        if (a.status !== 401 && a.status !== 403) {
          roleOf.set(`${route.method} ${route.url}`, role);
          break;
        }
      }
    }
  });
  afterAll(async () => {
    // The figures for the closing note of the trust issue.
    process.stdout.write(`fuzz: ${requestsSent} HTTP requests and ${socketCases} raw-socket cases, all answered\n`);
    await t?.close();
  });

  it('knows every route the server has, and the key each one takes', () => {
    expect(roleOf.get('POST /v1/track')).toBe('write');
    expect(roleOf.get('GET /v1/spaces/:ws/collections/users/profiles/:id/traits')).toBe('read');
    expect(roleOf.get('PUT /v1/spaces/:ws/settings/identity')).toBe('admin');
    const listed = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const expected of [
      'GET /health',
      'POST /v1/track',
      'POST /v1/batch',
      'POST /v1/import',
      `GET /v1/spaces/:ws/collections/users/profiles/:id/traits`,
      'DELETE /v1/spaces/:ws/collections/users/profiles/:id/external_ids/:key',
      'PUT /v1/spaces/:ws/settings/identity',
      'POST /v1/spaces/:ws/keys/:id/rotate',
      'DELETE /v1/spaces/:ws/keys/:id',
    ]) {
      expect(listed, expected).toContain(expected);
    }
  });

  it('answers hostile single messages on every tracking endpoint with 200 or a 4xx naming the problem', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TRACKING), hostileMessage, fc.constantFrom('application/json', 'text/plain'), async (type, message, contentType) => {
        const body = Buffer.from(text(message));
        const a = await send(`${t.url}/v1/${type}`, { method: 'POST', headers: { authorization: t.basic(t.keys.writeKey), 'content-type': contentType }, body });
        assertWellFormed(`POST /v1/${type} ${body.toString().slice(0, 200)}`, 'POST', a);
        if (a.status === 200) expect(a.json).toMatchObject({ success: true });
        assertNotPolluted();
      }),
      runs(400),
    );
  });

  it('accepts the valid messages of a batch next to hostile neighbours, and shows them in their profiles', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('identify', 'track', 'page', 'screen'), { minLength: 1, maxLength: 5 }),
        fc.array(fc.oneof(hostileMessage, hostileValue), { minLength: 1, maxLength: 8 }),
        fc.integer(),
        fc.constantFrom('/v1/batch', '/v1/import'),
        async (validTypes, hostile, shuffleSeed, path) => {
          const valid = validTypes.map((type) => {
            const id = `fz-ok-${randomUUID()}`;
            return { id, messageId: `m-${id}`, body: obj({ type, userId: id, messageId: `m-${id}`, event: 'Fuzzed', name: 'Fuzzed', traits: obj({ plan: '<b>pro</b>' }) }) };
          });
          // Interleave deterministically from the seed, so a shrunk failure replays the same batch.
          const slots: { valid?: (typeof valid)[number]; hostile?: J }[] = [...valid.map((v) => ({ valid: v })), ...hostile.map((h) => ({ hostile: h }))];
          let s = shuffleSeed;
          for (let i = slots.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) | 0;
            const j = Math.abs(s) % (i + 1);
            [slots[i], slots[j]] = [slots[j]!, slots[i]!];
          }
          const batch = slots.map((x) => x.valid?.body ?? x.hostile!);
          const body = Buffer.from(text(obj({ batch })));
          const a = await send(`${t.url}${path}`, { method: 'POST', headers: { authorization: t.basic(t.keys.writeKey), 'content-type': 'application/json' }, body });
          assertWellFormed(`POST ${path}`, 'POST', a);
          if (a.status === 413) return; // the hostile neighbours made the request too large: refused whole, as it should be
          expect(a.status, a.text.slice(0, 500)).toBe(200);
          expect(a.json.accepted + a.json.duplicates).toBeGreaterThanOrEqual(valid.length);
          const rejectedIndexes = new Set(a.json.rejected.map((r: { index: number }) => r.index));
          for (const r of a.json.rejected) {
            expect(typeof r.code).toBe('string');
            expect(typeof r.reason).toBe('string');
          }
          slots.forEach((slot, index) => {
            if (slot.valid !== undefined) expect(rejectedIndexes.has(index), `valid message at ${index} rejected`).toBe(false);
          });
          for (const v of valid) {
            const events = await send(`${t.url}${profiles}/user_id:${v.id}/events`, { method: 'GET', headers: { authorization: t.basic(t.keys.readKey) } });
            expect(events.status, events.text).toBe(200);
            expect(events.json.data.map((e: { message_id: string }) => e.message_id)).toContain(v.messageId);
          }
          assertNotPolluted();
        },
      ),
      runs(60),
    );
  });

  it('refuses bodies that are not valid JSON, or not JSON at all, on every route that takes a body', async () => {
    const withBodies = routes.filter((r) => r.method === 'POST' || r.method === 'PUT' || r.method === 'DELETE');
    expect(withBodies.length).toBeGreaterThan(10);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...withBodies),
        brokenBody,
        fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', ''),
        fc.constantFrom('identity', 'gzip', 'gzip-garbage', 'deflate-garbage', 'br', 'x-unknown'),
        async (route, body, contentType, encoding) => {
          const headers: Record<string, string> = { authorization: t.basic(route.url.startsWith('/v1/spaces') ? t.keys.adminKey : t.keys.writeKey) };
          if (contentType !== '') headers['content-type'] = contentType;
          let payload = body;
          if (encoding === 'gzip') {
            headers['content-encoding'] = 'gzip';
            payload = gzipSync(body);
          } else if (encoding.endsWith('-garbage')) {
            headers['content-encoding'] = encoding.replace('-garbage', '');
          } else if (encoding !== 'identity') {
            headers['content-encoding'] = encoding;
          }
          const url = fill(route.url, { ws: 'default', id: 'user_id:fz-seed', key: 'anonymous_id:fz-nobody', keyId: spareKeyId });
          const a = await send(`${t.url}${url}`, { method: route.method, headers, body: payload });
          assertWellFormed(`${route.method} ${url} ${contentType} ${encoding} ${JSON.stringify(body.toString('latin1').slice(0, 120))}`, route.method, a);
          assertNotPolluted();
        },
      ),
      runs(400),
    );
  });

  it('answers hostile query strings on every read route, with the right key and a real profile', async () => {
    const reads = routes.filter((r) => r.method === 'GET');
    // A profile of its own: the other properties may delete or erase the seeded one.
    const seeded = await send(`${t.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: t.basic(t.keys.writeKey), 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify({ userId: 'fz-reader', anonymousId: 'fz-reader-anon', traits: { email: 'fz-reader@example.com', plan: 'pro' } })),
    });
    expect(seeded.status).toBe(200);
    const value = fc.oneof(
      fc.constantFrom('1', '0', '-1', '1e3', '1.5', '201', 'NaN', '', 'plan,email', 'email:fz-reader@example.com', 'user_id:fz-reader', 'zzz', '%zz', '%00', '__proto__'),
      fc.string({ maxLength: 20 }).map(enc),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...reads),
        fc.constantFrom('user_id:fz-reader', 'email:FZ-Reader@Example.com', 'anonymous_id:fz-reader-anon'),
        fc.array(fc.tuple(fc.constantFrom('limit', 'next', 'include', 'to', 'before', 'x'), value), { minLength: 1, maxLength: 4 }),
        fc.option(value, { freq: 2 }),
        async (route, id, given, repeated) => {
          // Half the time the first parameter comes twice, as `?a=1&a=2` parses to an array.
          const pairs = repeated === null ? given : [...given, [given[0]![0], repeated] as const];
          const path = fill(route.url, { ws: 'default', id: enc(id), key: 'anonymous_id:fz-nobody', keyId: spareKeyId });
          const q = `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`;
          const a = await send(`${t.url}${path}${q}`, { method: 'GET', headers: { authorization: t.basic(t.keys[`${roleOf.get(`GET ${route.url}`) ?? 'read'}Key`]) } });
          assertWellFormed(`GET ${path}${q}`, 'GET', a);
          if (a.status === 404 && route.url.includes('/profiles/:id/')) throw new Error(`the reader's profile is gone: ${a.text}`);
          assertNotPolluted();
        },
      ),
      runs(300),
    );
  });

  it('answers hostile paths, queries, keys and bodies on every route without a 5xx', async () => {
    const hostileSegment = fc.oneof(
      fc.constantFrom(...HOSTILE_STRINGS).map(enc),
      fc.string({ maxLength: 30 }).map(enc),
      fc.constantFrom('%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '..', '%2e%2e', '%2F', '%00', 'email:%F0%9F%98%80', 'x'.repeat(5_000), `user_id:${'y'.repeat(1_500)}`, `profile_id:${'z'.repeat(300)}`),
    );
    const sensible = fc.record({
      ws: fc.constantFrom('default', 'default', 'default', 'default', 'other', 'nope'),
      id: fc.constantFrom('user_id:fz-seed', 'email:FZ-Seed@Example.com', 'anonymous_id:fz-seed-anon', 'user_id:fz-none', 'profile_id:prf_nope', 'phone:(415) 555-0134', 'user_id:123'),
      key: fc.constantFrom('anonymous_id:fz-nobody', 'email:x@example.com', 'user_id:fz-seed'),
    });
    const query = fc.oneof(
      { weight: 1, arbitrary: fc.constant('') },
      fc.array(
        fc.tuple(fc.constantFrom('limit', 'next', 'include', 'to', 'before', 'x', '__proto__', 'constructor'), fc.oneof(fc.constantFrom('1', '0', '-1', '1e3', '1.5', '999999', 'NaN', '', 'email:fz-seed@example.com', 'a,b,,c'), hostileSegment)),
        { maxLength: 4 },
      ).map((pairs) => `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`),
      { weight: 2, arbitrary: fc.constantFrom('?limit=1&limit=2', '?include=plan&include=email', '?limit=1&next=a&next=b', '?to=email:fz-seed@example.com&to=c:d', '?include=a&include=b', '?next=a&next=b', '?to=a:b&to=c:d', '?%zz=1&&&=&a[b]=c', '?__proto__[polluted]=yes', '?constructor[prototype][polluted]=yes') },
    );
    const auth = fc.oneof(
      { weight: 6, arbitrary: fc.constant((route: RouteEntry) => t.basic(t.keys[`${roleOf.get(`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`) ?? 'read'}Key`])) },
      fc.constantFrom('write', 'read', 'admin').map((role) => () => t.basic(t.keys[`${role}Key`])),
      fc.constantFrom(() => t.basic(other.adminKey), () => 'Basic', () => 'Basic !!!', () => 'Bearer ', () => `Basic ${Buffer.from(':').toString('base64')}`, () => 'Digest x', () => `Bearer ${'k'.repeat(8_000)}`),
      fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)).map((s) => () => s),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        sensible,
        fc.record({ ws: fc.option(hostileSegment, { freq: 5 }), id: fc.option(hostileSegment, { freq: 3 }), key: fc.option(hostileSegment, { freq: 3 }) }),
        query,
        auth,
        fc.option(fc.oneof(hostileMessage, hostileValue), { freq: 2 }),
        async (route, good, bad, q, authHeader, body) => {
          const params = { ws: bad.ws ?? good.ws, id: bad.id ?? enc(good.id), key: bad.key ?? enc(good.key), keyId: bad.id ?? spareKeyId };
          const path = route.url === '*' ? `/${params.id}` : fill(route.url, params);
          const headers: Record<string, string> = { authorization: authHeader(route) };
          const hasBody = body !== null && route.method !== 'GET' && route.method !== 'HEAD' && route.method !== 'OPTIONS';
          if (hasBody) headers['content-type'] = 'application/json';
          if (route.method === 'OPTIONS') Object.assign(headers, { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
          const a = await send(`${t.url}${path}${q}`, { method: route.method, headers, ...(hasBody ? { body: Buffer.from(text(body)) } : {}) });
          assertWellFormed(`${route.method} ${path}${q}`, route.method, a);
          assertNotPolluted();
        },
      ),
      runs(600),
    );
  });

  it('answers raw requests that break HTTP itself (bad framing, truncated bodies, junk headers) without a 5xx', async () => {
    const target = fc.constantFrom('/v1/track', '/v1/batch', `${profiles}/user_id:fz-seed/traits`, '/v1/spaces/default/keys', '/health', '*', '/%zz', `/${'a'.repeat(20_000)}`);
    const body = fc.oneof(hostileMessage.map((m) => Buffer.from(text(m))), brokenBody);
    const framing = fc.constantFrom('exact', 'short', 'long', 'negative', 'nonnumeric', 'double', 'chunked', 'chunked-truncated', 'chunked-bad', 'none', 'both');
    const junkHeader = fc.constantFrom('', 'X-Bad\x01Name: v\r\n', 'NoColonHere\r\n', 'X-Latin: \xff\xfe\r\n', ' folded: line\r\n', `X-Big: ${'h'.repeat(20_000)}\r\n`, 'Content-Type: application/json\r\nContent-Type: text/plain\r\n', 'Transfer-Encoding: gzip, chunked\r\n', 'Host: a\r\nHost: b\r\n');
    const requestLine = fc.constantFrom('POST {path} HTTP/1.1', 'GET {path} HTTP/1.1', 'PUT {path} HTTP/1.1', 'POST {path} HTTP/1.0', 'POST {path} HTTP/9.9', 'P\x00ST {path} HTTP/1.1', 'POST {path}', 'POST  HTTP/1.1', 'BREW {path} HTCPCP/1.0', '\x16\x03\x01\x02\x00\x01');
    await fc.assert(
      fc.asyncProperty(requestLine, target, body, framing, junkHeader, async (line, path, payload, frame, junk) => {
        const head = [`${line.replace('{path}', path)}\r\n`, 'Host: 127.0.0.1\r\n', `Authorization: ${t.basic(t.keys.writeKey)}\r\n`, 'Content-Type: application/json\r\n', 'Connection: close\r\n', junk];
        let bodyBytes = payload;
        // `complete`: the server has the whole request and must answer and close by itself.
        let complete = true;
        switch (frame) {
          case 'exact':
            head.push(`Content-Length: ${payload.length}\r\n`);
            break;
          case 'short':
            head.push(`Content-Length: ${Math.max(0, payload.length - 3)}\r\n`);
            break;
          case 'long':
            head.push(`Content-Length: ${payload.length + 10}\r\n`);
            complete = false;
            break;
          case 'negative':
            head.push('Content-Length: -5\r\n');
            break;
          case 'nonnumeric':
            head.push('Content-Length: 12abc\r\n');
            break;
          case 'double':
            head.push(`Content-Length: ${payload.length}\r\nContent-Length: ${payload.length + 1}\r\n`);
            break;
          case 'chunked':
            head.push('Transfer-Encoding: chunked\r\n');
            bodyBytes = Buffer.concat([Buffer.from(`${payload.length.toString(16)}\r\n`), payload, Buffer.from('\r\n0\r\n\r\n')]);
            break;
          case 'chunked-truncated':
            head.push('Transfer-Encoding: chunked\r\n');
            bodyBytes = Buffer.concat([Buffer.from(`${(payload.length + 50).toString(16)}\r\n`), payload]);
            complete = false;
            break;
          case 'chunked-bad':
            head.push('Transfer-Encoding: chunked\r\n');
            bodyBytes = Buffer.concat([Buffer.from('zz\r\n'), payload, Buffer.from('\r\n0\r\n\r\n')]);
            break;
          case 'none':
            break;
          case 'both':
            head.push(`Content-Length: ${payload.length}\r\nTransfer-Encoding: chunked\r\n`);
            break;
        }
        const request = Buffer.concat([Buffer.from(head.join('') + '\r\n', 'latin1'), bodyBytes]);
        // A truncated request is followed by the client going away; anything else waits for the
        // server to answer (Connection: close) or to refuse and close. Either way, never a hang.
        const raw = await exchange(port, [request], { end: !complete || line.includes('\x00') || !line.includes('HTTP/1.') });
        for (const answer of responsesIn(raw)) assertWellFormed(`raw ${JSON.stringify(request.toString('latin1').slice(0, 200))}`, 'POST', answer);
        assertNotPolluted();
      }),
      runs(200),
    );
  });

  it('serves a slow but complete body, and closes quietly on a body cut off mid-way', async () => {
    const message = Buffer.from(JSON.stringify({ userId: 'fz-slow', event: 'Slow', messageId: `slow-${randomUUID()}` }));
    const head = Buffer.from(`POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${t.basic(t.keys.writeKey)}\r\nContent-Type: application/json\r\nContent-Length: ${message.length}\r\nConnection: close\r\n\r\n`);
    const pieces = [head, ...Array.from({ length: 8 }, (_, i) => message.subarray(Math.floor((i * message.length) / 8), Math.floor(((i + 1) * message.length) / 8)))];
    const slow = responsesIn(await exchange(port, pieces, { end: false, pauseMs: 80, patienceMs: 12_000 }));
    expect(slow.map((a) => a.status)).toEqual([200]);

    const cut = await exchange(port, [head, message.subarray(0, 10)], { end: true });
    for (const answer of responsesIn(cut)) assertWellFormed('truncated body', 'POST', answer);
    const events = await send(`${t.url}${profiles}/user_id:fz-slow/events`, { method: 'GET', headers: { authorization: t.basic(t.keys.readKey) } });
    expect(events.json.data).toHaveLength(1);
  });

  it('still answers /health after all of it', async () => {
    const health = await send(`${t.url}/health`, { method: 'GET' });
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: 'ok' });
    assertNotPolluted();
  });
});

/** The route's path with `:params` filled in (percent-encoded already, or deliberately broken). */
function fill(url: string, params: { ws: string; id: string; key: string; keyId: string }): string {
  return url.replace(/:(\w+)/g, (_, name: string) => {
    if (name === 'ws') return params.ws;
    if (name === 'key') return params.key;
    // `:id` is a profile identifier on profile routes and a key id on key routes.
    if (name === 'id' && url.includes('/keys/')) return params.keyId;
    return params.id;
  });
}

/** Percent-encodes any string, broken Unicode included (encodeURIComponent throws on it). */
function enc(s: string): string {
  return s.isWellFormed() ? encodeURIComponent(s) : `${encodeURIComponent(s.toWellFormed())}%ED%A0%80`;
}
