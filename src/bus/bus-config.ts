/**
 * Where the JetStream intake lives and what it is called. Every name (subjects, consumer, the
 * heartbeat bucket) derives from the stream's name, so several kith installations (or tests) can
 * share one NATS server without seeing each other's messages.
 */
export interface BusConfig {
  /** NATS servers, `host:port` each. */
  readonly servers: readonly string[];
  /** The intake stream's name (JetStream: letters, digits, `-`, `_`). */
  readonly stream: string;
}

/** Subjects and names of one intake stream. */
export interface BusNames {
  readonly stream: string;
  /** Subjects the stream captures: `<prefix>.in.<workspaceId>`. */
  readonly intakeWildcard: string;
  intake(workspaceId: string): string;
  /** Core-NATS subject on which workers tell API node `nodeId` that its messages are resolved. */
  resolved(nodeId: string): string;
  /** The durable pull consumer every worker shares. */
  readonly consumer: string;
  /** Key-value bucket of worker heartbeats. */
  readonly heartbeats: string;
}

export const DEFAULT_STREAM = 'KITH';
/** API nodes wait this long for workers before answering 202 (env `KITH_BUS_WAIT_MS`). */
export const DEFAULT_BUS_WAIT_MS = 5000;

/**
 * Reads `nats://HOST:PORT` (or several, comma-separated; `nats://` may be left out) and a stream
 * name. Throws an error naming `what` when either is not usable.
 */
export function parseBusConfig(url: string, stream: string = DEFAULT_STREAM, what = '--bus'): BusConfig {
  const servers: string[] = [];
  for (const part of url.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    let parsed: URL;
    try {
      parsed = new URL(part.includes('://') ? part : `nats://${part}`);
    } catch {
      throw new Error(`${what} must be a NATS URL such as nats://127.0.0.1:4222, got "${part}"`);
    }
    if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') throw new Error(`${what} must be a nats:// URL, got "${part}"`);
    if (parsed.hostname === '') throw new Error(`${what} has no host: "${part}"`);
    const auth = parsed.username === '' ? '' : `${parsed.username}${parsed.password === '' ? '' : `:${parsed.password}`}@`;
    servers.push(`${parsed.protocol}//${auth}${parsed.hostname}:${parsed.port === '' ? '4222' : parsed.port}`);
  }
  if (servers.length === 0) throw new Error(`${what} is empty; give a NATS URL such as nats://127.0.0.1:4222`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) throw new Error(`the stream name must be 1–64 letters, digits, "-" or "_", got "${stream}"`);
  return Object.freeze({ servers: Object.freeze(servers), stream });
}

/**
 * The bus settings in the environment, as a pure function: `KITH_BUS` (servers), `KITH_STREAM`
 * (default `KITH`), `KITH_BUS_WAIT_MS` (default 5000). Command-line flags override them.
 */
export function loadBusEnv(env: Record<string, string | undefined>): { bus: string | null; stream: string; waitMs: number } {
  const waitMs = env.KITH_BUS_WAIT_MS === undefined || env.KITH_BUS_WAIT_MS === '' ? DEFAULT_BUS_WAIT_MS : Number(env.KITH_BUS_WAIT_MS);
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new Error(`KITH_BUS_WAIT_MS must be a number of milliseconds, got "${env.KITH_BUS_WAIT_MS}"`);
  return {
    bus: env.KITH_BUS !== undefined && env.KITH_BUS !== '' ? env.KITH_BUS : null,
    stream: env.KITH_STREAM !== undefined && env.KITH_STREAM !== '' ? env.KITH_STREAM : DEFAULT_STREAM,
    waitMs,
  };
}

/** The names derived from the stream's: stream `KITH` captures `kith.in.>`. */
export function busNames(stream: string): BusNames {
  const prefix = stream.toLowerCase();
  return Object.freeze({
    stream,
    intakeWildcard: `${prefix}.in.>`,
    intake: (workspaceId: string) => `${prefix}.in.${workspaceId}`,
    resolved: (nodeId: string) => `${prefix}.resolved.${nodeId}`,
    consumer: 'resolvers',
    heartbeats: `${stream}_workers`,
  });
}
