import { splitIdentifierKey, type IdentifierKey } from '../identity/identifier.ts';
import { consentEntries } from '../profile/consent.ts';
import { firstSeen } from '../profile/first-seen.ts';
import { lookupProfile } from '../profile/profile-lookup.ts';
import type { JsonObject, JsonValue } from '../spec/segment-message.ts';
import type { ProfileId, ReadPort, Workspace } from '../store/ports.ts';
import { personNotFound, type PersonNotFound } from './person-lookup.ts';

export type ExportOutcome =
  | { ok: true; document: JsonObject }
  | PersonNotFound;

const iso = (t: number): string => new Date(t).toISOString();

/**
 * Everything kith holds about a person, as one JSON document (a data subject access request):
 * the profile's ids (its current one and the ids merged or re-keyed into it), identifiers with
 * where and when each was first seen, traits and consent with the event that set each, every
 * stored message carrying one of the identifiers (in full when it is one of the profile's own
 * events, `attributed`; another person's event that also carried one of the identifiers, such as
 * a shared tablet's, is listed without its body, which is that person's data), the evidence
 * links (which of the person's identifiers each message carries), and the profile's history.
 */
export async function exportPerson(read: ReadPort, ws: Workspace, text: string, now: number): Promise<ExportOutcome> {
  const found = await lookupProfile(read, ws, text);
  if (found.kind !== 'found') return personNotFound(found);
  const p = found.profile;
  const identifiers = await firstSeen(read, ws.id, (await read.identifiersOf(ws.id, p.id)).map((s) => s.key));
  const own = new Set<IdentifierKey>(identifiers.map((s) => s.key));
  const messages = await read.messagesCarrying(ws.id, [...own]);
  const history = await read.historyOf(ws.id, [p.id]);
  const formerIds = new Set<string>();
  for (const h of history) if ((h.kind === 'merge' || h.kind === 'rekey') && h.profileId === p.id) for (const r of h.related) formerIds.add(r);
  formerIds.delete(p.id);

  const traits: JsonObject = {};
  for (const name of Object.keys(p.traits).sort()) {
    const tv = p.traits[name]!;
    traits[name] = { value: tv.v, updated_at: iso(tv.t), message_id: tv.m };
  }
  const consent: JsonObject = {};
  for (const c of consentEntries(p.consent)) consent[c.purpose] = { granted: c.granted, updated_at: iso(c.t), message_id: c.messageId };

  return {
    ok: true,
    document: {
      kind: 'kith.person_export',
      version: 1,
      exported_at: iso(now),
      workspace: ws.name,
      profile_id: p.id,
      former_profile_ids: [...formerIds].sort(),
      created_at: iso(p.firstT),
      updated_at: iso(p.lastT),
      identifiers: identifiers.map((s) => {
        const { type, value } = splitIdentifierKey(s.key);
        return { type, value, first_seen_at: s.first === undefined ? null : iso(s.first.t), first_message_id: s.first?.messageId ?? null, source_id: s.first?.source ?? null };
      }),
      traits,
      consent,
      events: messages.map((m) => {
        // Another person's event that also carried one of these identifiers (a shared device): its
        // body is that person's data, so only the fact and the shared identifiers are disclosed.
        const attributed = m.primary !== null && own.has(m.primary);
        return {
          message_id: m.messageId,
          type: m.type,
          timestamp: iso(m.t),
          received_at: iso(m.receivedAt),
          source_id: m.source,
          attributed,
          message: attributed ? m.body : null,
        };
      }),
      evidence: messages.map((m) => ({
        message_id: m.messageId,
        identifiers: m.keys.filter((k) => own.has(k)) as JsonValue[],
        with: m.keys.filter((k) => !own.has(k)).length,
      })),
      history: history.map((h) => ({ kind: h.kind, at: iso(h.at), profile_id: h.profileId, related: [...h.related], message_id: h.messageId, detail: h.detail })),
    },
  };
}
