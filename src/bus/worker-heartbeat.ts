import { Kvm, type KV } from '@nats-io/kv';
import type { Bus } from './nats-bus.ts';

/** What a worker says about itself every few seconds (a key per worker in a JetStream KV bucket). */
export interface WorkerBeat {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** When this beat was sent. */
  readonly at: number;
  /** Messages resolved since the worker started (new and repeats), and those that failed. */
  readonly resolved: number;
  readonly duplicates: number;
  readonly failed: number;
  /** Messages resolved per second since the previous beat. */
  readonly rate: number;
}

export const HEARTBEAT_MS = 2000;
/** A worker silent for longer than this is not counted (it crashed or is cut off). */
const ALIVE_MS = 3 * HEARTBEAT_MS + 500;

/**
 * The bucket of worker heartbeats, created by whoever needs it first. Entries expire on their own
 * after a while, so a killed worker disappears without anyone cleaning up after it.
 */
export async function openHeartbeats(bus: Bus): Promise<KV> {
  const kvm = new Kvm(bus.nc);
  try {
    return await kvm.create(bus.names.heartbeats, { ttl: 30_000, history: 1 });
  } catch {
    return kvm.open(bus.names.heartbeats);
  }
}

/** Beats of the workers alive now (heard from within three heartbeat periods), by id. */
export async function readBeats(kv: KV, now: number = Date.now()): Promise<WorkerBeat[]> {
  const beats: WorkerBeat[] = [];
  const keys: string[] = [];
  for await (const key of await kv.keys()) keys.push(key);
  for (const key of keys) {
    const entry = await kv.get(key);
    if (entry === null || entry.operation !== 'PUT') continue;
    try {
      const beat = entry.json<WorkerBeat>();
      if (typeof beat.at === 'number' && now - beat.at <= ALIVE_MS) beats.push(beat);
    } catch {
      // not a beat: something else wrote to the bucket
    }
  }
  return beats.sort((a, b) => a.id.localeCompare(b.id));
}
