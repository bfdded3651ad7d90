import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createApp, type App } from '../src/app.ts';
import { buildServer, type ServerOptions } from '../src/api/server.ts';
import { request } from './harness.ts';

const TRACKING = ['identify', 'track', 'page', 'screen', 'group', 'alias', 'batch', 'import'];
const PROFILES = '/v1/spaces/default/collections/users/profiles';

interface Running {
  readonly url: string;
  readonly port: number;
  readonly server: FastifyInstance;
  readonly keys: { writeKey: string; readKey: string; adminKey: string };
  close(): Promise<void>;
}

/** A real server on a SQLite file of its own, built with the options under test. */
async function serve(options: ServerOptions): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'kith-limits-'));
  const app: App = await createApp({ db: join(dir, 'kith.db') });
  const created = await app.workspaces.create('default');
  if (!created.ok) throw new Error(created.message);
  const server = buildServer(app, options);
  await server.listen({ port: 0, host: '127.0.0.1' });
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    keys: created.created,
    async close() {
      await server.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const basic = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

function preflight(url: string, origin: string) {
  return request(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
}

/** A raw connection and everything the server sends on it, until it closes (or `limitMs` passes). */
function openSocket(port: number): { socket: Socket; received: () => string; closed: Promise<boolean> } {
  const socket = connect({ port, host: '127.0.0.1' });
  const chunks: Buffer[] = [];
  socket.on('data', (d) => chunks.push(d));
  socket.on('error', () => undefined);
  const closed = new Promise<boolean>((resolve) => socket.on('close', () => resolve(true)));
  return { socket, received: () => Buffer.concat(chunks).toString('utf8'), closed };
}

/** True when `closed` settles before `ms`; a bound against hangs, not a timing assertion. */
function within<T>(p: Promise<T>, ms: number): Promise<T | 'timed out'> {
  return Promise.race([p, new Promise<'timed out'>((r) => setTimeout(() => r('timed out'), ms).unref())]);
}

function statusOf(raw: string): number | undefined {
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  return m === null ? undefined : Number(m[1]);
}

function bodyOf(raw: string): any {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
}

describe('CORS on the tracking endpoints', () => {
  let any: Running;
  let listed: Running;
  let off: Running;
  beforeAll(async () => {
    [any, listed, off] = await Promise.all([serve({}), serve({ cors: ['https://shop.example.com', 'http://localhost:3000'] }), serve({ cors: [] })]);
  });
  afterAll(async () => {
    await Promise.all([any?.close(), listed?.close(), off?.close()]);
  });

  it('answers preflights from any origin by default, allowing POST with Authorization and Content-Type', async () => {
    for (const type of TRACKING) {
      const res = await preflight(`${any.url}/v1/${type}`, 'https://anywhere.example');
      expect(res.status, type).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-methods')).toContain('POST');
      const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
      expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
      expect(Number(res.headers.get('access-control-max-age'))).toBeGreaterThan(0);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
  });

  it('lets a page read the answer of a tracking call, errors and Retry-After included', async () => {
    const ok = await request(`${any.url}/v1/track`, { auth: basic(any.keys.writeKey), headers: { origin: 'https://anywhere.example' }, body: { userId: 'cors-1', event: 'Viewed' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    expect((ok.headers.get('access-control-expose-headers') ?? '').toLowerCase()).toContain('retry-after');
    // analytics.js sends text/plain with the write key in the body, so the browser sends no preflight.
    const beacon = await request(`${any.url}/v1/batch`, {
      headers: { origin: 'https://anywhere.example', 'content-type': 'text/plain' },
      rawBody: JSON.stringify({ writeKey: any.keys.writeKey, batch: [{ type: 'page', anonymousId: 'cors-anon', name: 'Home' }] }),
    });
    expect(beacon.status).toBe(200);
    expect(beacon.headers.get('access-control-allow-origin')).toBe('*');
    const refused = await request(`${any.url}/v1/track`, { headers: { origin: 'https://anywhere.example' }, body: { userId: 'cors-1', event: 'Viewed' } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('never answers CORS on profile, admin, key or operational routes', async () => {
    const origin = 'https://anywhere.example';
    for (const path of [`${PROFILES}/user_id:cors-1/traits`, `${PROFILES}/user_id:cors-1/events`, '/v1/spaces/default/settings/identity', '/v1/spaces/default/keys', '/v1/spaces/default/rejected', '/health', '/metrics']) {
      const pre = await preflight(`${any.url}${path}`, origin);
      expect(pre.status, path).toBe(404);
      expect(pre.body.error.code).toBe('not_found');
      expect(pre.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(pre.headers.get('access-control-allow-methods'), path).toBeNull();
    }
    const read = await request(`${any.url}${PROFILES}/user_id:cors-1/traits`, { auth: basic(any.keys.readKey), headers: { origin } });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    const admin = await request(`${any.url}/v1/spaces/default/keys`, { auth: basic(any.keys.adminKey), headers: { origin } });
    expect(admin.status).toBe(200);
    expect(admin.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows only the configured origins when given a list', async () => {
    const good = await preflight(`${listed.url}/v1/track`, 'https://shop.example.com');
    expect(good.status).toBe(204);
    expect(good.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(good.headers.get('vary')).toContain('Origin');
    const local = await request(`${listed.url}/v1/identify`, { auth: basic(listed.keys.writeKey), headers: { origin: 'http://localhost:3000' }, body: { userId: 'cors-2' } });
    expect(local.status).toBe(200);
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    for (const stranger of ['https://evil.example', 'https://shop.example.com.evil.example', 'http://shop.example.com']) {
      const pre = await preflight(`${listed.url}/v1/track`, stranger);
      expect(pre.headers.get('access-control-allow-origin'), stranger).toBeNull();
      const post = await request(`${listed.url}/v1/track`, { auth: basic(listed.keys.writeKey), headers: { origin: stranger }, body: { userId: 'cors-2', event: 'E' } });
      expect(post.headers.get('access-control-allow-origin'), stranger).toBeNull();
    }
  });

  it('answers no CORS at all when turned off', async () => {
    const pre = await preflight(`${off.url}/v1/track`, 'https://shop.example.com');
    expect(pre.status).toBe(404);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const post = await request(`${off.url}/v1/track`, { auth: basic(off.keys.writeKey), headers: { origin: 'https://shop.example.com' }, body: { userId: 'cors-3', event: 'E' } });
    expect(post.status).toBe(200);
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('kith serve --cors-origins', () => {
  it('serves with the origins given, and refuses a value that is not an origin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kith-cors-cli-'));
    const bin = join(import.meta.dirname, '..', 'bin', 'kith.js');
    try {
      const bad = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', join(dir, 'bad.db'), '--cors-origins', 'https://shop.example.com/path']);
      let badErr = '';
      bad.stderr.on('data', (d) => (badErr += d));
      const code = await new Promise<number | null>((r) => bad.on('exit', r));
      expect(code).not.toBe(0);
      expect(badErr).toContain('--cors-origins');

      const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--quiet', '--db', join(dir, 'kith.db'), '--cors-origins', 'https://shop.example.com']);
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
            const m = /serving on (http:\/\/\S+)/.exec(out);
            if (m !== null) resolve(m[1]!);
          });
          child.on('exit', (c) => reject(new Error(`kith serve exited with ${c}: ${out}`)));
        });
        const allowed = await preflight(`${url}/v1/track`, 'https://shop.example.com');
        expect(allowed.status).toBe(204);
        expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
        const other = await preflight(`${url}/v1/track`, 'https://other.example');
        expect(other.headers.get('access-control-allow-origin')).toBeNull();
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.on('exit', r));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('connection cap and request time limits', () => {
  let t: Running;
  beforeAll(async () => {
    // Short limits so the test sees them act within a second or two.
    t = await serve({ limits: { maxConnections: 3, headersTimeoutMs: 300, requestTimeoutMs: 600 } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('closes connections over the cap at once, and serves again when one frees up', async () => {
    const held = [openSocket(t.port), openSocket(t.port), openSocket(t.port)];
    // Each held connection is in the middle of a request (and gets cut off by the time limit later);
    // a keep-alive request first proves the server accepted it.
    for (const h of held) {
      h.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await within(new Promise<void>((r) => h.socket.once('data', () => r())), 5_000);
      expect(statusOf(h.received())).toBe(200);
    }
    const over = openSocket(t.port);
    over.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await within(over.closed, 5_000)).toBe(true);
    expect(over.received()).toBe('');

    held[0]!.socket.destroy();
    await held[0]!.closed;
    // The server learns of the close on its next turn; retry briefly rather than race it.
    let answered: string | undefined;
    for (let attempt = 0; attempt < 50 && answered === undefined; attempt++) {
      const next = openSocket(t.port);
      next.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await within(next.closed, 5_000);
      if (next.received() !== '') answered = next.received();
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(statusOf(answered ?? '')).toBe(200);
    for (const h of held) h.socket.destroy();
  });

  it('cuts off a body that arrives too slowly with 408 and closes the connection', async () => {
    const c = openSocket(t.port);
    const body = JSON.stringify({ userId: 'slow-loris', event: 'Drip' });
    c.socket.write(`POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: ${basic(t.keys.writeKey)}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    // One byte every 100 ms: never idle, never done in time.
    let sent = 0;
    const drip = setInterval(() => {
      if (sent < body.length - 1 && !c.socket.destroyed) c.socket.write(body[sent++]!);
    }, 100);
    try {
      expect(await within(c.closed, 10_000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect(sent).toBeLessThan(body.length - 1);
    expect(statusOf(c.received())).toBe(408);
    expect(bodyOf(c.received()).error).toMatchObject({ code: 'request_timeout', message: expect.any(String) });
    const stored = await request(`${t.url}${PROFILES}/user_id:slow-loris/events`, { auth: basic(t.keys.readKey) });
    expect(stored.status).toBe(404);
  });

  it('cuts off headers that arrive too slowly, and connections that send nothing', async () => {
    const slow = openSocket(t.port);
    slow.socket.write('POST /v1/track HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => {
      if (!slow.socket.destroyed) slow.socket.write('X-Drip: 1\r\n');
    }, 100);
    try {
      expect(await within(slow.closed, 10_000)).toBe(true);
    } finally {
      clearInterval(drip);
    }
    expect(statusOf(slow.received())).toBe(408);
    expect(bodyOf(slow.received()).error.code).toBe('request_timeout');

    const silent = openSocket(t.port);
    expect(await within(silent.closed, 10_000)).toBe(true);
  });

  it('still serves a request sent at normal speed, and answers oversized headers with 431', async () => {
    const ok = await request(`${t.url}/v1/track`, { auth: basic(t.keys.writeKey), body: { userId: 'fast', event: 'Quick' } });
    expect(ok.status).toBe(200);
    const big = openSocket(t.port);
    big.socket.write(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`);
    expect(await within(big.closed, 10_000)).toBe(true);
    expect(statusOf(big.received())).toBe(431);
    expect(bodyOf(big.received()).error.code).toBe('headers_too_large');
    const health = await request(`${t.url}/health`);
    expect(health.status).toBe(200);
  });

  it('refuses bodies over the size limits with 413 naming the problem', async () => {
    const single = await request(`${t.url}/v1/track`, { auth: basic(t.keys.writeKey), body: { userId: 'big', event: 'E', properties: { blob: 'x'.repeat(40 * 1024) } } });
    expect(single.status).toBe(413);
    expect(single.body.error.code).toBe('body_too_large');
    const batch = await request(`${t.url}/v1/batch`, { auth: basic(t.keys.writeKey), body: { batch: [{ type: 'track', userId: 'big', event: 'E', properties: { blob: 'x'.repeat(510 * 1024) } }] } });
    expect(batch.status).toBe(413);
    expect(batch.body.error.code).toBe('body_too_large');
  });
});
