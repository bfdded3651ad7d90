import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp, type App } from '../src/app.ts';
import { buildServer } from '../src/api/server.ts';
import { startIntake } from '../src/bus/start-intake.ts';
import { parseBusConfig } from '../src/bus/bus-config.ts';
import { connectBus, ensureIntake, removeIntake, type Bus } from '../src/bus/nats-bus.ts';

/** The NATS server the tests use: the local one by default, or `KITH_TEST_NATS_URL`. */
export const NATS_URL = process.env.KITH_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kith.js');

/** A stream name of the test's own, so tests never see each other's messages. */
export function testStreamName(prefix = 'KITH_TEST'): string {
  return `${prefix}_${randomBytes(5).toString('hex').toUpperCase()}`;
}

/** Connects to the test NATS server with the names of `stream`; creates the intake when asked. */
export async function testBus(stream: string, opts: { ackWaitMs?: number; create?: boolean } = {}): Promise<Bus> {
  const bus = await connectBus(parseBusConfig(NATS_URL, stream), 'kith test');
  if (opts.create === true) await ensureIntake(bus, opts.ackWaitMs === undefined ? {} : { ackWaitMs: opts.ackWaitMs });
  return bus;
}

/** Deletes a test's stream and heartbeat bucket, and closes the connection. */
export async function dropTestStream(bus: Bus): Promise<void> {
  await removeIntake(bus);
  await bus.close();
}

export interface BusServer {
  readonly url: string;
  readonly app: App;
  readonly keys: { writeKey: string; readKey: string; adminKey: string };
  basic(key: string): string;
  close(): Promise<void>;
}

/**
 * An API node as `kith serve --db postgres://... --bus ...` builds it (same wiring: startIntake,
 * then the server with the intake as its sink), in this process on a random port.
 */
export async function startBusServer(opts: { db: string; stream: string; waitMs: number }): Promise<BusServer> {
  const app = await createApp({ db: opts.db });
  const created = await app.workspaces.create('default');
  if (!created.ok) throw new Error(created.message);
  const intake = await startIntake(app, { bus: NATS_URL, stream: opts.stream, waitMs: opts.waitMs });
  const server = buildServer(app, { intake: intake.intake });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const { writeKey, readKey, adminKey } = created.created;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    keys: { writeKey, readKey, adminKey },
    basic: (key) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
    async close() {
      await server.close();
      await intake.close();
      await app.close();
    },
  };
}

/** A `kith` child process (`node bin/kith.js ...`) the test can signal and must stop. */
export interface KithChild {
  readonly pid: number;
  output(): string;
  /** Resolves with the first match of `pattern` in the output, or fails after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends `signal`; resolves with the exit code and signal once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnKith(args: readonly string[], env: NodeJS.ProcessEnv = {}): KithChild {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, KITH_LOG_LEVEL: 'warn', KITH_DB: '', KITH_BUS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.on('exit', (code, signal) => done({ code, signal })));
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const l of listeners) l();
  });
  return {
    pid: child.pid!,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((done, fail) => {
        const check = () => {
          const m = out.match(pattern);
          if (m !== null) {
            cleanup();
            done(m);
          } else if (gone) {
            cleanup();
            fail(new Error(`kith ${args[0]} exited before printing ${pattern}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          fail(new Error(`kith ${args[0]} did not print ${pattern} within ${timeoutMs} ms:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async kill(signal) {
      if (!gone) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
}
