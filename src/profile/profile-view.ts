import type { HistoryRecord, ReadPort, Workspace } from '../store/ports.ts';
import type { JsonObject } from '../spec/segment-message.ts';
import { lookupProfile } from './profile-lookup.ts';
import { traitValues } from './traits.ts';
import { consentEntries } from './consent.ts';
import { firstSeen } from './first-seen.ts';

export interface ProfileView {
  readonly profileId: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Oldest first; `firstSeen`/`source` are null only if no stored message carries it any more. */
  readonly identifiers: ReadonlyArray<{ type: string; value: string; firstSeen: string | null; source: string | null }>;
  readonly traits: JsonObject;
  /** Purpose → granted, with the event time that set it. */
  readonly consent: ReadonlyArray<{ purpose: string; granted: boolean; updatedAt: string; messageId: string }>;
  readonly recentEvents: ReadonlyArray<{ timestamp: string; type: string; event: string | null; messageId: string; source: string }>;
  readonly history: ReadonlyArray<{ at: string; kind: string; profileId: string; related: readonly string[]; messageId: string | null; detail: JsonObject }>;
}

export type ProfileViewResult = { ok: true; view: ProfileView } | { ok: false; message: string };

/** Everything about one profile in one object: what `kith profile` prints. */
export async function profileView(read: ReadPort, ws: Workspace, text: string, eventLimit = 10): Promise<ProfileViewResult> {
  const found = await lookupProfile(read, ws, text);
  if (found.kind !== 'found') return { ok: false, message: found.message };
  const p = found.profile;
  const identifiers = await firstSeen(read, ws.id, (await read.identifiersOf(ws.id, p.id)).map((s) => s.key));
  const events = await read.eventsOf(ws.id, p.id, { limit: eventLimit, cursor: null });
  const history: HistoryRecord[] = await read.historyOf(ws.id, [p.id]);
  const iso = (t: number): string => new Date(t).toISOString();
  return {
    ok: true,
    view: {
      profileId: p.id,
      createdAt: iso(p.firstT),
      updatedAt: iso(p.lastT),
      identifiers: identifiers.map((s) => {
        const at = s.key.indexOf(':');
        return { type: s.key.slice(0, at), value: s.key.slice(at + 1), firstSeen: s.first === undefined ? null : iso(s.first.t), source: s.first?.source ?? null };
      }),
      traits: traitValues(p.traits),
      consent: consentEntries(p.consent).map((c) => ({ purpose: c.purpose, granted: c.granted, updatedAt: iso(c.t), messageId: c.messageId })),
      recentEvents: events.events.map((e) => ({ timestamp: iso(e.t), type: e.type, event: e.event, messageId: e.messageId, source: e.source })),
      history: history.map((h) => ({ at: iso(h.at), kind: h.kind, profileId: h.profileId, related: h.related, messageId: h.messageId, detail: h.detail })),
    },
  };
}
