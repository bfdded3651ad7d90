import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { App } from '../app.ts';
import { explain } from '../identity/explain.ts';
import { identifierKey, parseIdentifierKey } from '../identity/identifier.ts';
import { normaliseIdentifier } from '../identity/normalise-identifier.ts';
import { firstSeen } from '../profile/first-seen.ts';
import { lookupProfile } from '../profile/profile-lookup.ts';
import { traitValues } from '../profile/traits.ts';
import type { ProfileState, Workspace } from '../store/ports.ts';
import type { JsonObject } from '../spec/segment-message.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

interface ProfileParams {
  ws: string;
  id: string;
}
interface PageQuery {
  limit?: string;
  next?: string;
  include?: string;
  to?: string;
}

const BASE = '/v1/spaces/:ws/collections/users/profiles/:id';

/** Segment's paging limits: default and maximum page size per endpoint. */
const LIMITS = { traits: [10, 200], external_ids: [25, 100], events: [10, 100] } as const;

function parseLimit(raw: string | undefined, [fallback, max]: readonly [number, number]): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, 'invalid_limit', `limit must be an integer from 1 to ${max}`, 'limit');
  return n;
}

function cursor(req: FastifyRequest, limit: number, next: string | null): JsonObject {
  return { url: req.url.split('?')[0] ?? '', has_more: next !== null, next: next ?? '', limit };
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

/**
 * Segment's Profile API, read key required: `/traits`, `/external_ids`, `/events`, `/metadata`,
 * same shapes and paging; `{id}` is any `type:value` or `profile_id:<id>`. Extensions on the same
 * path: `/explain?to=type:value` and `/history`.
 */
export function registerProfileRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app } = deps;
  const read = app.store.read;

  async function resolve(req: FastifyRequest<{ Params: ProfileParams }>): Promise<{ ws: Workspace; profile: ProfileState }> {
    const principal = await deps.auth.require(keyFromHeaders(req), 'read', req.params.ws);
    const found = await lookupProfile(read, principal.workspace, req.params.id);
    switch (found.kind) {
      case 'found':
        return { ws: principal.workspace, profile: found.profile };
      case 'invalid':
        throw new HttpError(400, 'invalid_identifier', found.message);
      case 'not_found':
        throw new HttpError(404, 'not_found', found.message);
      case 'quarantined':
        throw new HttpError(404, 'quarantined', found.message);
      case 'split':
        throw new HttpError(300, 'profile_split', found.message, undefined, { profiles: found.ids });
      default: {
        const never: never = found;
        throw new Error(`unexpected lookup ${JSON.stringify(never)}`);
      }
    }
  }

  server.get<{ Params: ProfileParams; Querystring: PageQuery }>(`${BASE}/traits`, async (req) => {
    const { profile } = await resolve(req);
    const limit = parseLimit(req.query.limit, LIMITS.traits);
    const all = traitValues(profile.traits);
    const include = req.query.include === undefined ? undefined : new Set(req.query.include.split(',').map((s) => s.trim()));
    const names = Object.keys(all).filter((n) => include === undefined || include.has(n));
    const start = req.query.next === undefined || req.query.next === '' ? 0 : names.findIndex((n) => n > req.query.next!);
    const page = start < 0 ? [] : names.slice(start, start + limit);
    const traits: JsonObject = {};
    for (const n of page) traits[n] = all[n]!;
    const more = start >= 0 && start + limit < names.length;
    return { traits, cursor: cursor(req, limit, more ? page[page.length - 1]! : null) };
  });

  server.get<{ Params: ProfileParams; Querystring: PageQuery }>(`${BASE}/external_ids`, async (req) => {
    const { ws, profile } = await resolve(req);
    const limit = parseLimit(req.query.limit, LIMITS.external_ids);
    const ids = await firstSeen(read, ws.id, (await read.identifiersOf(ws.id, profile.id)).map((s) => s.key));
    const offset = req.query.next === undefined || req.query.next === '' ? 0 : Number(req.query.next);
    if (!Number.isInteger(offset) || offset < 0) throw new HttpError(400, 'invalid_cursor', 'next must come from a previous page', 'next');
    const page = ids.slice(offset, offset + limit);
    const data = page.map((s) => {
      const at = s.key.indexOf(':');
      return {
        id: s.key.slice(at + 1),
        type: s.key.slice(0, at),
        source_id: s.first?.source ?? null,
        collection: 'users',
        created_at: s.first === undefined ? null : iso(s.first.t),
        encoding: 'none',
      };
    });
    return { data, cursor: cursor(req, limit, offset + limit < ids.length ? String(offset + limit) : null) };
  });

  server.get<{ Params: ProfileParams; Querystring: PageQuery }>(`${BASE}/events`, async (req) => {
    const { ws, profile } = await resolve(req);
    const limit = parseLimit(req.query.limit, LIMITS.events);
    const page = await read.eventsOf(ws.id, profile.id, { limit, cursor: req.query.next === undefined || req.query.next === '' ? null : req.query.next });
    const data = page.events.map((e) => {
      const b = e.body;
      return {
        message_id: e.messageId,
        type: e.type,
        ...(e.event === null ? {} : e.type === 'track' ? { event: e.event } : { name: e.event }),
        source_id: e.source,
        timestamp: iso(e.t),
        received_at: iso(e.receivedAt),
        ...(b.userId === undefined ? {} : { user_id: b.userId }),
        ...(b.anonymousId === undefined ? {} : { anonymous_id: b.anonymousId }),
        properties: b.properties ?? {},
        ...(b.traits === undefined ? {} : { traits: b.traits }),
        context: b.context ?? {},
        related: null,
      };
    });
    return { data, cursor: cursor(req, limit, page.next) };
  });

  server.get<{ Params: ProfileParams }>(`${BASE}/metadata`, async (req) => {
    const { profile } = await resolve(req);
    const identifiers = Object.values(profile.counts).reduce((a, b) => a + b, 0);
    return {
      metadata: {
        profile_id: profile.id,
        created_at: iso(profile.firstT),
        updated_at: iso(profile.lastT),
        expires_at: null,
        identifiers,
      },
    };
  });

  server.get<{ Params: ProfileParams }>(`${BASE}/history`, async (req) => {
    const { ws, profile } = await resolve(req);
    const lookedUp = req.params.id.startsWith('profile_id:') ? req.params.id.slice('profile_id:'.length).trim() : undefined;
    const ids = [profile.id, ...(lookedUp !== undefined && lookedUp !== profile.id ? [lookedUp] : [])];
    const entries = await read.historyOf(ws.id, ids as ProfileState['id'][]);
    return {
      profile_id: profile.id,
      data: entries.map((h) => ({
        kind: h.kind,
        at: iso(h.at),
        profile_id: h.profileId,
        related: h.related,
        message_id: h.messageId,
        detail: h.detail,
      })),
    };
  });

  server.get<{ Params: ProfileParams; Querystring: PageQuery }>(`${BASE}/explain`, async (req) => {
    const principal = await deps.auth.require(keyFromHeaders(req), 'read', req.params.ws);
    const ws = principal.workspace;
    if (req.query.to === undefined) throw new HttpError(400, 'missing_field', 'add ?to=TYPE:VALUE, the identifier to explain the link to', 'to');
    const from = await toKey(ws, req.params.id, 'id');
    const to = await toKey(ws, req.query.to, 'to');
    const result = await explain(read, ws, from, to);
    return { from, to, ...result };
  });
}

async function toKey(ws: Workspace, text: string, field: string) {
  const parsed = parseIdentifierKey(text);
  if (parsed === undefined || parsed.type === 'profile_id') {
    throw new HttpError(400, 'invalid_identifier', `"${text}" is not an identifier TYPE:VALUE`, field);
  }
  const normal = normaliseIdentifier(parsed.type, parsed.value, ws.rules);
  if (!normal.ok) throw new HttpError(400, 'invalid_identifier', normal.reason, field);
  return identifierKey(parsed.type, normal.value);
}
