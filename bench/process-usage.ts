/**
 * Runs a command as a process of its own and measures it from outside, the way `top` would see it:
 * the peak resident set size (VmHWM, which counts every thread's memory: the resolver worker's
 * heap and SQLite caches too) and the CPU time of each of its threads, read from /proc every
 * 100 ms while it runs. Linux only; elsewhere the figures are NaN.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export interface ProcessUsage {
  readonly code: number | null;
  readonly stdout: string;
  readonly wallMs: number;
  /** Highest VmHWM of the process and any process it started, in MB. */
  readonly peakRssMb: number;
  /** CPU time (user + system) of the whole process, of its main thread, and of its busiest other thread. */
  readonly cpuMs: number;
  readonly mainThreadCpuMs: number;
  readonly busiestThreadCpuMs: number;
}

/** Clock ticks per second of /proc's CPU times (CLK_TCK), 100 on every Linux kernel build in use. */
const TICK_MS = 10;

export function runMeasured(command: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<ProcessUsage> {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const started = performance.now();
  const pid = child.pid;
  const proc = pid !== undefined && existsSync(`/proc/${pid}`);
  let peakKb = 0;
  let cpu = 0;
  const threads = new Map<string, number>();
  const sample = (): void => {
    if (!proc || pid === undefined) return;
    for (const p of [pid, ...descendants(pid)]) {
      const hwm = /VmHWM:\s+(\d+)/.exec(readOr(`/proc/${p}/status`))?.[1];
      if (hwm !== undefined) peakKb = Math.max(peakKb, Number(hwm));
    }
    const total = cpuTicks(readOr(`/proc/${pid}/stat`));
    if (total !== undefined) cpu = total * TICK_MS;
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      return;
    }
    for (const tid of tids) {
      const t = cpuTicks(readOr(`/proc/${pid}/task/${tid}/stat`));
      if (t !== undefined) threads.set(tid, t * TICK_MS);
    }
  };
  const timer = setInterval(sample, 100);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(timer);
      const main = pid === undefined ? 0 : (threads.get(String(pid)) ?? 0);
      let busiest = 0;
      for (const [tid, ms] of threads) if (tid !== String(pid)) busiest = Math.max(busiest, ms);
      resolve({
        code,
        stdout,
        wallMs: performance.now() - started,
        peakRssMb: proc ? peakKb / 1024 : Number.NaN,
        cpuMs: proc ? cpu : Number.NaN,
        mainThreadCpuMs: proc ? main : Number.NaN,
        busiestThreadCpuMs: proc ? busiest : Number.NaN,
      });
    });
  });
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** utime + stime of a /proc stat line (fields 14 and 15; the command name may hold spaces). */
function cpuTicks(stat: string): number | undefined {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (rest.length < 13) return undefined;
  return Number(rest[11]) + Number(rest[12]);
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const tid of readdirOr(`/proc/${pid}/task`)) {
    for (const c of readOr(`/proc/${pid}/task/${tid}/children`).split(' ')) {
      if (c.trim() === '') continue;
      out.push(Number(c), ...descendants(Number(c)));
    }
  }
  return out;
}

function readdirOr(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
