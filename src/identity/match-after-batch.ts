import { blockingKeys } from '../match/blocking.ts';
import type { Model } from '../match/model.ts';
import type { Attribute } from '../match/attributes.ts';
import type { MatchPair, MatchRecord } from '../store/match-ports.ts';
import type { ProfileId, WorkspaceId, WriteTx } from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';
import { decidePair, scoreRecords } from './match-pairs.ts';
import { applyToRecord, recordValuesFromTraits, sameValues, toMatchInput } from './match-records.ts';
import { loadModel } from './match-model.ts';
import { matchingActive, matchingOf, type MatchingSettings } from './match-settings.ts';
import type { PreparedMessage } from './resolve-batch.ts';
import { reresolve } from './reresolve.ts';
import type { IdentityRules } from './rules.ts';

export interface MatchStats {
  /** Records whose personal attributes (or first call) changed, and pairs compared for them. */
  records: number;
  compared: number;
  linked: number;
  queued: number;
  merges: number;
  splits: number;
}

/**
 * The identity graph's matching step, run inside the ingest transaction after a batch is resolved
 * (so the answer to the ingest call already reflects it). Only called for workspaces with matching
 * settings. First, human rejections are enforced on profiles the batch's fast path joined. Then,
 * when matching is active, every identifier whose own identify calls changed its personal record is
 * re-blocked and scored against the candidates the blocking index proposes (and against the pairs
 * it already has); links that appear, disappear or move re-resolve their two components.
 */
export async function matchAfterBatch(
  tx: WriteTx,
  ws: { id: WorkspaceId; rules: IdentityRules },
  input: { messages: readonly PreparedMessage[]; changedProfiles: readonly ProfileId[]; now: number },
): Promise<MatchStats> {
  const stats: MatchStats = { records: 0, compared: 0, linked: 0, queued: 0, merges: 0, splits: 0 };
  const seeds = new Set<IdentifierKey>();
  // The fast path links without looking at rejections; replay honours them, so a profile the batch
  // joined across a rejected pair is re-resolved (rare: it needs a person to have rejected it).
  for (const p of await tx.match.violatedRejections(ws.id, input.changedProfiles)) {
    seeds.add(p.a);
    seeds.add(p.b);
  }
  if (matchingActive(ws.rules)) {
    const settings = matchingOf(ws.rules);
    const updates = recordUpdates(input.messages, settings.attributes);
    if (updates.size > 0) {
      const model = await loadModel(tx.match, ws.id, settings.model!);
      if (model !== undefined) {
        const stored = new Map((await tx.match.loadRecords(ws.id, [...updates.keys()])).map((r) => [r.key, r]));
        const changed: MatchRecord[] = [];
        const rescore: MatchRecord[] = [];
        for (const [key, list] of updates) {
          const before = stored.get(key);
          let record = before;
          let dirty = false;
          for (const u of list) {
            const next = applyToRecord(record, key, u.values, u.at);
            if (next !== undefined) {
              record = next;
              dirty = true;
            }
          }
          if (!dirty || record === undefined) continue;
          changed.push(record);
          // A later call repeating the same traits moves only the survivorship bookkeeping (when
          // each value was last seen): the record is saved, but its blocking keys and scores
          // depend on its values and its first call alone, so it is not blocked or scored again.
          if (before === undefined || !sameValues(before, record) || before.firstT !== record.firstT || before.firstM !== record.firstM) rescore.push(record);
        }
        if (changed.length > 0) await tx.match.saveRecords(ws.id, changed);
        if (rescore.length > 0) {
          const blocks = rescore.map((r) => ({ key: r.key, blocks: blockingKeys(model, toMatchInput(r)) }));
          await tx.match.setBlocks(ws.id, blocks);
          const scored = await scoreAgainstCandidates(tx, ws, { model, settings, records: rescore, blocks, now: input.now });
          stats.records += rescore.length;
          stats.compared += scored.compared;
          stats.linked += scored.linked;
          stats.queued += scored.queued;
          for (const k of scored.seeds) seeds.add(k);
        }
      }
    }
  }
  if (seeds.size > 0) {
    const r = await reresolve(tx, ws, { seeds: [...seeds], components: [], now: input.now, cause: null, reason: { matched: 'true' } });
    stats.merges += r.merges;
    stats.splits += r.splits;
  }
  return stats;
}

type Update = { values: Map<Attribute, string | null>; at: { t: number; m: string } };

/** Personal attributes per identifier from the batch's identify calls (keyed by each call's first identifier). */
function recordUpdates(messages: readonly PreparedMessage[], mapping: MatchingSettings['attributes']): Map<IdentifierKey, Update[]> {
  const out = new Map<IdentifierKey, Update[]>();
  for (const m of messages) {
    if (m.type !== 'identify') continue;
    const key = m.keys[0];
    if (key === undefined) continue;
    const values = recordValuesFromTraits(m.traits, mapping);
    if (values === undefined) continue;
    const list = out.get(key);
    const u = { values, at: { t: m.t, m: m.messageId } };
    if (list === undefined) out.set(key, [u]);
    else list.push(u);
  }
  return out;
}

/**
 * Scores changed records against the candidates their blocking keys find and against every pair
 * they already belong to (so a link whose records drifted apart is withdrawn), and stores the
 * decisions. Returns the identifiers whose links changed, to re-resolve.
 */
export async function scoreAgainstCandidates(
  tx: WriteTx,
  ws: { id: WorkspaceId; rules: IdentityRules },
  input: { model: Model; settings: MatchingSettings; records: readonly MatchRecord[]; blocks: ReadonlyArray<{ key: IdentifierKey; blocks: readonly string[] }>; now: number },
): Promise<{ seeds: Set<IdentifierKey>; compared: number; linked: number; queued: number }> {
  const { model, settings } = input;
  const mine = new Map(input.records.map((r) => [r.key, r]));
  const existing = new Map<string, MatchPair>();
  for (const p of await tx.match.pairsOf(ws.id, [...mine.keys()])) existing.set(`${p.a}\n${p.b}`, p);
  const partners = new Map<IdentifierKey, Set<IdentifierKey>>();
  const addPartner = (x: IdentifierKey, y: IdentifierKey): void => {
    if (x === y) return;
    if (!partners.has(x)) partners.set(x, new Set());
    partners.get(x)!.add(y);
  };
  for (const { key, blocks } of input.blocks) {
    for (const c of await tx.match.candidates(ws.id, blocks, settings.maxBlockSize)) addPartner(key, c);
  }
  for (const p of existing.values()) {
    if (mine.has(p.a)) addPartner(p.a, p.b);
    if (mine.has(p.b)) addPartner(p.b, p.a);
  }
  const others = new Set<IdentifierKey>();
  for (const set of partners.values()) for (const k of set) if (!mine.has(k)) others.add(k);
  const records = new Map(mine);
  for (const r of await tx.match.loadRecords(ws.id, [...others])) records.set(r.key, r);
  const allKeys = [...new Set([...mine.keys(), ...others])];
  const profileOf = new Map((await tx.loadIdentifiers(ws.id, allKeys)).map((s) => [s.key, s.profileId]));

  const seeds = new Set<IdentifierKey>();
  const save: MatchPair[] = [];
  const remove: string[] = [];
  const done = new Set<string>();
  let compared = 0;
  let linked = 0;
  let queued = 0;
  for (const [key, set] of partners) {
    for (const other of set) {
      const [a, b] = key < other ? [key, other] : [other, key];
      const pairKey = `${a}\n${b}`;
      if (done.has(pairKey)) continue;
      done.add(pairKey);
      const ra = records.get(a);
      const rb = records.get(b);
      const found = existing.get(pairKey);
      if (ra === undefined || rb === undefined) {
        // A record that no longer exists (its identifier was deleted) keeps no machine-made pair.
        if (found !== undefined && (found.status === 'linked' || found.status === 'review')) {
          remove.push(found.id);
          if (found.status === 'linked') for (const k of [a, b]) seeds.add(k);
        }
        continue;
      }
      compared++;
      const score = scoreRecords(model, ra, rb);
      const pa = profileOf.get(a) ?? null;
      const decision = decidePair({ existing: found, a: ra, b: rb, score, model, settings, rules: ws.rules, together: pa !== null && pa === profileOf.get(b), now: input.now });
      if (decision.save !== undefined) {
        save.push(decision.save);
        if (decision.save.status === 'linked' && found?.status !== 'linked') linked++;
        if (decision.save.status === 'review' && found?.status !== 'review') queued++;
      }
      if (decision.remove !== undefined) remove.push(decision.remove);
      if (decision.edgeChanged) for (const k of [a, b]) seeds.add(k);
    }
  }
  await tx.match.savePairs(ws.id, save);
  await tx.match.deletePairs(ws.id, remove);
  return { seeds, compared, linked, queued };
}
