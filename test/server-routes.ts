import type { FastifyInstance } from 'fastify';

/** A route as the server registered it (method and URL pattern, e.g. `/v1/spaces/:ws/keys`). */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
}

/** Every route the server registered, read from Fastify's route tree (so new routes are found without editing tests). */
export function routesOf(server: FastifyInstance): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of server.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([^)]*)\))?$/.exec(line);
    if (m === null) continue;
    const depth = m[1]!.length / 4;
    const full = (depth === 0 ? '' : stack[depth - 1]!) + m[2]!;
    stack.length = depth;
    stack[depth] = full;
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) routes.push({ method, url: full });
  }
  return routes;
}

/** True when a concrete path (query string ignored) fits a registered URL pattern (`:a|:b` is one parameter with two names). */
export function pathMatches(pattern: string, path: string): boolean {
  const plain = path.split('?')[0]!;
  const source = pattern
    .split(/(:[A-Za-z_]+(?:\|:[A-Za-z_]+)*|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(plain);
}
