import { ModelFormatError, parseModel, type Model } from '../match/model.ts';
import { train } from '../match/train.ts';
import type { Store, Workspace } from '../store/ports.ts';
import { recordsFromStore, rescoreWorkspace, type RescoreProgress, type RescoreSummary } from './match-workspace.ts';
import { toMatchInput } from './match-records.ts';
import { matchingOf, parseMatchingSettings, type MatchingSettings } from './match-settings.ts';

export type ConfigureOutcome =
  | { ok: true; settings: MatchingSettings; workspace: Workspace; rescored: RescoreSummary | null }
  | { ok: false; code: 'invalid_matching' | 'invalid_model' | 'unknown_model'; field: string; message: string };

/**
 * Changes a workspace's matching settings (a partial document; `model` may be a stored version, a
 * whole model document, which is stored as a new version, or null) and, when anything that decides
 * links changed (model, thresholds, mapping, block size, enabled), re-scores the workspace and
 * re-resolves what the new links and withdrawn ones affect.
 */
export async function configureMatching(store: Store, ws: Workspace, raw: unknown, options: { now: number; onProgress?: RescoreProgress }): Promise<ConfigureOutcome> {
  let document: Model | undefined;
  let body = raw;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && typeof (raw as Record<string, unknown>).model === 'object' && (raw as Record<string, unknown>).model !== null) {
    try {
      document = parseModel((raw as Record<string, unknown>).model);
    } catch (err) {
      if (err instanceof ModelFormatError) return { ok: false, code: 'invalid_model', field: `model.${err.field}`, message: err.message };
      throw err;
    }
    body = { ...(raw as Record<string, unknown>), model: document.version };
  }
  const before = matchingOf(ws.rules);
  const checked = parseMatchingSettings(body, before);
  if (!checked.ok) return { ok: false, code: 'invalid_matching', field: checked.field, message: checked.message };
  const settings = checked.settings;
  let generation = 0;
  const exists = await store.write(async (tx) => {
    if (document !== undefined) await tx.match.saveModel(ws.id, { version: document.version, createdAt: options.now, model: document });
    if (settings.model !== null && (await tx.match.loadModel(ws.id, settings.model)) === undefined) return false;
    generation = await store.admin.setRules(ws.id, { ...ws.rules, matching: settings });
    return true;
  });
  if (!exists) return { ok: false, code: 'unknown_model', field: 'model', message: `no model ${settings.model} is stored in this workspace (train one with kith match train, or send a model document)` };
  const workspace: Workspace = { ...ws, rules: { ...ws.rules, matching: settings } };
  const changed = ws.rules.matching === undefined ? settings.model !== null : JSON.stringify(before) !== JSON.stringify(settings);
  const rescored = changed ? await rescoreWorkspace(store, workspace, options) : null;
  // Saving marked the rules pending (see rules-change.ts): a crash before here re-scores at the next start.
  await store.write(() => store.admin.settleRules(ws.id, generation));
  return { ok: true, settings, workspace, rescored };
}

export type TrainOutcome =
  | { ok: true; model: Model; records: number; workspace: Workspace; rescored: RescoreSummary }
  | { ok: false; code: 'not_enough_data'; message: string };

/** Fewest personal records worth training on: below this EM has nothing to learn from. */
export const MIN_TRAINING_RECORDS = 20;

/**
 * Trains a model on the workspace's personal records (unsupervised: λ from deterministic rules, u
 * from random pairs, m by EM), stores it as a new version, makes it the workspace's model and
 * re-scores the workspace with it.
 */
export async function trainWorkspaceModel(
  store: Store,
  ws: Workspace,
  options: { now: number; seed?: number; onProgress?: RescoreProgress; onStage?: (stage: string) => void },
): Promise<TrainOutcome> {
  options.onStage?.('reading records');
  const records = await store.write((tx) => recordsFromStore(tx, ws));
  const inputs = [...records.values()].map(toMatchInput).filter((r) => Object.keys(r.values).length > 0);
  if (inputs.length < MIN_TRAINING_RECORDS) {
    return { ok: false, code: 'not_enough_data', message: `the workspace has ${inputs.length} personal records (identify calls with mapped traits); training needs at least ${MIN_TRAINING_RECORDS}` };
  }
  options.onStage?.('training');
  let model: Model;
  try {
    model = train(inputs, { now: new Date(options.now), ...(options.seed === undefined ? {} : { seed: options.seed }) });
  } catch (err) {
    return { ok: false, code: 'not_enough_data', message: `training failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  options.onStage?.('scoring');
  const configured = await configureMatching(store, ws, { model }, options);
  if (!configured.ok) throw new Error(`a trained model was refused: ${configured.message}`);
  return { ok: true, model, records: inputs.length, workspace: configured.workspace, rescored: configured.rescored ?? (await rescoreWorkspace(store, configured.workspace, options)) };
}
