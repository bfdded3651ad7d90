import { findCandidates } from '../match/candidate-pairs.ts';
import type { Model } from '../match/model.ts';
import { prepareFor } from '../match/score.ts';
import type { ValidMessage } from '../spec/segment-message.ts';
import type { MatchPair, MatchRecord } from '../store/match-ports.ts';
import type { Store, Workspace, WriteTx } from '../store/ports.ts';
import type { IdentifierKey } from './identifier.ts';
import { blockingKeys } from '../match/blocking.ts';
import { decidePair, repositionAccepted, scoreRecords } from './match-pairs.ts';
import { applyToRecord, recordValuesFromTraits, toMatchInput } from './match-records.ts';
import { loadModel } from './match-model.ts';
import { matchingActive, matchingOf, type MatchingSettings } from './match-settings.ts';
import { reresolve } from './reresolve.ts';

const SCAN_CHUNK = 2000;
const WRITE_CHUNK = 1000;
const RERESOLVE_CHUNK = 500;

/** One identify call's personal attributes, as the record builder takes them. */
export interface RecordEvidence {
  readonly messageId: string;
  readonly type: string;
  readonly t: number;
  readonly keys: readonly IdentifierKey[];
  readonly traits: Record<string, unknown> | null;
}

/**
 * Every identifier's personal record from a set of messages: a pure function (survivorship by
 * event time), the definition the incremental path agrees with.
 */
export function buildRecords(messages: Iterable<RecordEvidence>, mapping: MatchingSettings['attributes']): Map<IdentifierKey, MatchRecord> {
  const records = new Map<IdentifierKey, MatchRecord>();
  for (const m of messages) {
    if (m.type !== 'identify') continue;
    const key = m.keys[0];
    if (key === undefined) continue;
    const values = recordValuesFromTraits(m.traits as never, mapping);
    if (values === undefined) continue;
    const next = applyToRecord(records.get(key), key, values, { t: m.t, m: m.messageId });
    if (next !== undefined) records.set(key, next);
  }
  return records;
}

/** Candidate pairs of records under the model's blocking rules, the same ones the store's index finds. */
export function candidatePairs(records: readonly MatchRecord[], model: Model, maxBlockSize: number): Array<[MatchRecord, MatchRecord]> {
  const prepared = records.map((r) => prepareFor(model, toMatchInput(r)));
  const found = findCandidates(prepared, model.comparisons.map((c) => c.attribute), model.blocking, { link: false, maxBlockSize });
  const out: Array<[MatchRecord, MatchRecord]> = [];
  for (let p = 0; p < found.count; p++) out.push([records[found.left[p]!]!, records[found.right[p]!]!]);
  return out;
}

/** Reads every stored message of the workspace and builds the records (inside one transaction). */
export async function recordsFromStore(tx: WriteTx, ws: Workspace): Promise<Map<IdentifierKey, MatchRecord>> {
  const mapping = matchingOf(ws.rules).attributes;
  const evidence: RecordEvidence[] = [];
  for (let after = 0; ; ) {
    const rows = await tx.scanMessages(ws.id, after, SCAN_CHUNK);
    if (rows.length === 0) break;
    for (const row of rows) {
      const body = JSON.parse(row.body) as ValidMessage & { traits?: Record<string, unknown> };
      if (body.type !== 'identify') continue;
      evidence.push({ messageId: body.messageId, type: body.type, t: body.timestamp, keys: row.keys, traits: body.traits ?? null });
    }
    after = rows[rows.length - 1]!.seq;
  }
  return buildRecords(evidence, mapping);
}

export interface RescoreSummary {
  readonly records: number;
  readonly pairsCompared: number;
  readonly linked: number;
  readonly queued: number;
  /** Machine-made pairs withdrawn (scores dropped, model removed, matching disabled). */
  readonly withdrawn: number;
  readonly merges: number;
  readonly splits: number;
}

export interface RescoreProgress {
  (phase: 'records' | 'scoring' | 'resolving', done: number, total: number): void;
}

/**
 * Re-scores a whole workspace under its current settings and model (`kith match run`, and after
 * the model, thresholds or mapping change): rebuilds every identifier's record from the stored
 * messages, re-blocks and scores every candidate pair, replaces machine-made pairs (links and
 * queue entries; human decisions stand), then re-resolves the components whose links changed, in
 * chunks of their own transactions. With matching disabled or no model, machine-made pairs go.
 */
export async function rescoreWorkspace(store: Store, ws: Workspace, options: { now: number; onProgress?: RescoreProgress }): Promise<RescoreSummary> {
  const settings = matchingOf(ws.rules);
  const progress = options.onProgress ?? (() => undefined);
  const first = await store.write(async (tx) => {
    const model = matchingActive(ws.rules) ? await loadModel(tx.match, ws.id, settings.model!) : undefined;
    const byKey = await recordsFromStore(tx, ws);
    const records = [...byKey.values()];
    progress('records', records.length, records.length);
    await tx.match.clearRecords(ws.id);
    for (let i = 0; i < records.length; i += WRITE_CHUNK) {
      const chunk = records.slice(i, i + WRITE_CHUNK);
      await tx.match.saveRecords(ws.id, chunk);
      if (model !== undefined) await tx.match.setBlocks(ws.id, chunk.map((r) => ({ key: r.key, blocks: blockingKeys(model, toMatchInput(r)) })));
    }
    const existing = new Map<string, MatchPair>();
    for (let after: string | null = null; ; ) {
      const page: MatchPair[] = await tx.match.listPairs(ws.id, { status: null, afterId: after, limit: 5000 });
      if (page.length === 0) break;
      for (const p of page) existing.set(`${p.a}\n${p.b}`, p);
      after = page[page.length - 1]!.id;
    }
    const pairs = model === undefined ? [] : candidatePairs(records, model, settings.maxBlockSize);
    const profileOf = new Map<IdentifierKey, string | null>();
    const keys = records.map((r) => r.key);
    for (let i = 0; i < keys.length; i += WRITE_CHUNK) {
      for (const s of await tx.loadIdentifiers(ws.id, keys.slice(i, i + WRITE_CHUNK))) profileOf.set(s.key, s.profileId);
    }
    const seeds = new Set<IdentifierKey>();
    const save: MatchPair[] = [];
    const remove: string[] = [];
    const seen = new Set<string>();
    let linked = 0;
    let queued = 0;
    let withdrawn = 0;
    pairs.forEach(([x, y], i) => {
      const [ra, rb] = x.key < y.key ? [x, y] : [y, x];
      const pk = `${ra.key}\n${rb.key}`;
      seen.add(pk);
      const found = existing.get(pk);
      const score = scoreRecords(model!, ra, rb);
      const pa = profileOf.get(ra.key) ?? null;
      const decision = decidePair({ existing: found, a: ra, b: rb, score, model: model!, settings, rules: ws.rules, together: pa !== null && pa === profileOf.get(rb.key), now: options.now });
      if (decision.save !== undefined) save.push(decision.save);
      if (decision.remove !== undefined) {
        remove.push(decision.remove);
        withdrawn++;
      }
      if (decision.edgeChanged) for (const k of [ra.key, rb.key]) seeds.add(k);
      const status = decision.save?.status ?? (decision.remove === undefined ? found?.status : undefined);
      if (status === 'linked') linked++;
      if (status === 'review') queued++;
      if (i % 10_000 === 0) progress('scoring', i, pairs.length);
    });
    progress('scoring', pairs.length, pairs.length);
    // Machine-made pairs no candidate proposed any more: their records changed or went.
    for (const [pk, p] of existing) {
      if (seen.has(pk)) continue;
      if (p.status === 'accepted' && byKey.has(p.a) && byKey.has(p.b)) {
        const moved = repositionAccepted(p, byKey.get(p.a)!, byKey.get(p.b)!);
        if (moved.save !== undefined) save.push(moved.save);
        if (moved.edgeChanged) for (const k of [p.a, p.b]) seeds.add(k);
      }
      if (p.status !== 'linked' && p.status !== 'review') continue;
      remove.push(p.id);
      withdrawn++;
      if (p.status === 'linked') for (const k of [p.a, p.b]) seeds.add(k);
    }
    for (let i = 0; i < save.length; i += WRITE_CHUNK) await tx.match.savePairs(ws.id, save.slice(i, i + WRITE_CHUNK));
    await tx.match.deletePairs(ws.id, remove);
    return { records: records.length, pairsCompared: pairs.length, linked, queued, withdrawn, seeds: [...seeds] };
  });
  let merges = 0;
  let splits = 0;
  for (let i = 0; i < first.seeds.length; i += RERESOLVE_CHUNK) {
    const chunk = first.seeds.slice(i, i + RERESOLVE_CHUNK);
    const r = await store.write((tx) => reresolve(tx, ws, { seeds: chunk, components: [], now: options.now, cause: null, reason: { matched: 'true' } }));
    merges += r.merges;
    splits += r.splits;
    progress('resolving', Math.min(i + RERESOLVE_CHUNK, first.seeds.length), first.seeds.length);
  }
  return { records: first.records, pairsCompared: first.pairsCompared, linked: first.linked, queued: first.queued, withdrawn: first.withdrawn, merges, splits };
}

