import type { FastifyInstance } from 'fastify';
import type { App } from '../app.ts';
import { consentEntries } from '../profile/consent.ts';
import { lookupProfile } from '../profile/profile-lookup.ts';
import { erasePerson } from '../privacy/erase-person.ts';
import { exportPerson } from '../privacy/export-person.ts';
import type { JsonObject } from '../spec/segment-message.ts';
import { keyFromHeaders, type Authenticator } from './auth.ts';
import { HttpError } from './http-error.ts';

const BASE = '/v1/spaces/:ws/collections/users/profiles/:id';
type Params = { ws: string; id: string };

/** Statuses of the lookup failures, as the Profile API answers them. */
function lookupError(code: 'invalid_identifier' | 'not_found' | 'quarantined' | 'profile_split', message: string, profiles?: readonly string[]): HttpError {
  switch (code) {
    case 'invalid_identifier':
      return new HttpError(400, code, message, 'id');
    case 'not_found':
      return new HttpError(404, code, message);
    case 'quarantined':
      return new HttpError(404, code, message);
    case 'profile_split':
      return new HttpError(300, code, message, undefined, { profiles });
    default: {
      const never: never = code;
      throw new Error(`unexpected lookup failure ${String(never)}`);
    }
  }
}

/**
 * Privacy routes on the Profile API's path, `{id}` any `type:value` or `profile_id:...`:
 * `DELETE .../profiles/{id}` erases the person (admin key), `GET .../profiles/{id}/export`
 * returns everything held about them as one document (admin key: it holds every event in full),
 * and `GET .../profiles/{id}/consent` their consent per purpose (read key).
 */
export function registerPrivacyRoutes(server: FastifyInstance, deps: { auth: Authenticator; app: App }): void {
  const { app, auth } = deps;

  server.delete<{ Params: Params }>(BASE, async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const outcome = await erasePerson(app.store, workspace, req.params.id, app.now());
    if (!outcome.ok) {
      // A quarantined identifier names no one person; a split id names several: nothing to erase.
      if (outcome.code === 'quarantined' || outcome.code === 'profile_split') {
        throw new HttpError(409, outcome.code, outcome.message, 'id', outcome.profiles === undefined ? undefined : { profiles: outcome.profiles });
      }
      throw lookupError(outcome.code, outcome.message);
    }
    const r = outcome.report;
    return {
      erased: true,
      profile_ids: r.profileIds,
      identifiers_suppressed: r.identifiersSuppressed,
      identifiers_shared: r.identifiersShared,
      messages_deleted: r.messagesDeleted,
      rejected_deleted: r.rejectedDeleted,
      history_deleted: r.historyDeleted,
      redirects_changed: r.redirectsChanged,
      scrubbed: r.scrubbed,
    };
  });

  server.get<{ Params: Params }>(`${BASE}/export`, async (req, reply) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'admin', req.params.ws);
    const outcome = await exportPerson(app.store.read, workspace, req.params.id, app.now());
    if (!outcome.ok) throw lookupError(outcome.code, outcome.message, outcome.profiles);
    void reply.header('content-disposition', `attachment; filename="${outcome.document.profile_id as string}.json"`);
    return outcome.document;
  });

  server.get<{ Params: Params }>(`${BASE}/consent`, async (req) => {
    const { workspace } = await auth.require(keyFromHeaders(req), 'read', req.params.ws);
    const found = await lookupProfile(app.store.read, workspace, req.params.id);
    if (found.kind === 'split') throw lookupError('profile_split', found.message, found.ids);
    if (found.kind === 'invalid') throw lookupError('invalid_identifier', found.message);
    if (found.kind !== 'found') throw lookupError(found.kind, found.message);
    const categoryPreferences: JsonObject = {};
    const purposes: JsonObject[] = [];
    for (const c of consentEntries(found.profile.consent)) {
      categoryPreferences[c.purpose] = c.granted;
      purposes.push({ purpose: c.purpose, granted: c.granted, timestamp: new Date(c.t).toISOString(), message_id: c.messageId });
    }
    return { profile_id: found.profile.id, consent: { categoryPreferences }, purposes };
  });
}
