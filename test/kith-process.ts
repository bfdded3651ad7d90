import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

/**
 * The `kith` command run as a user runs it, `node bin/kith.js ...` in a child process, for tests that
 * need a real server process they can kill (the in-process harness cannot be SIGKILLed without
 * killing the test runner). Every child has a deadline; the caller kills what it started.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kith.js');

export interface KithRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An environment for children: no inherited KITH_DB/PORT/HOST, warnings-only logs. */
export function childEnv(scratchDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, KITH_DB: join(scratchDir, 'decoy', 'kith.db'), KITH_LOG_LEVEL: 'warn' };
  delete env.PORT;
  delete env.HOST;
  return env;
}

/** `node bin/kith.js ARGS` with piped output, from the repository root unless `cwd` says otherwise. */
export function spawnKith(args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string }): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Collects what a started `kith` child prints until it exits; kills it at the deadline and fails. */
export function finished(child: ChildProcessByStdio<null, Readable, Readable>, args: readonly string[], timeoutMs: number): Promise<KithRun> {
  return new Promise((done, fail) => {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`kith ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      fail(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `kith ARGS` to completion, or kills it at the deadline and fails. */
export function runKith(args: readonly string[], opts: { env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<KithRun> {
  return finished(spawnKith(args, opts), args, opts.timeoutMs ?? 30_000);
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => done(port));
    });
  });
}

export interface ServeProcess {
  readonly url: string;
  readonly pid: number;
  /** True once the process has exited, for whatever reason. */
  exited(): boolean;
  /** Everything the server printed so far (stdout, then stderr). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<KithRun>;
}

/** Starts `kith serve --db DB --port PORT --quiet` and resolves once `GET /health` answers 200. */
export function startKithServe(opts: { db: string; port: number; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ServeProcess> {
  return watchServe(spawnKith(['serve', '--db', opts.db, '--port', String(opts.port), '--quiet'], { env: opts.env }), opts.port, opts.timeoutMs ?? 20_000);
}

/**
 * Follows a just-started `kith serve` child: collects its output and resolves once `GET /health`
 * answers 200 on `port` (which must be where its arguments or environment tell it to listen); fails
 * if it exits first or does not answer within `timeoutMs`.
 */
export async function watchServe(child: ChildProcessByStdio<null, Readable, Readable>, port: number, timeoutMs: number): Promise<ServeProcess> {
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<KithRun>((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
  const isExited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const output = (): string => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (isExited()) {
      const run = await closed;
      throw new Error(`kith serve exited (code ${run.code}, signal ${run.signal}) before answering /health\n${output()}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await closed;
      throw new Error(`kith serve did not answer /health within ${timeoutMs} ms\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid: child.pid!,
    exited: isExited,
    output,
    stdout: () => stdout,
    stderr: () => stderr,
    async kill(signal) {
      if (!isExited()) child.kill(signal);
      return closed;
    },
  };
}
