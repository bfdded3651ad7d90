import type { Store, Workspace } from '../store/ports.ts';
import { rescoreWorkspace, type RescoreSummary } from './match-workspace.ts';
import { reresolveWorkspace, type WorkspaceReresolution } from './reresolve-workspace.ts';

export interface RulesChangeResult {
  readonly reresolved: WorkspaceReresolution;
  readonly rescored: RescoreSummary | null;
}

/**
 * Follows a saved rules change through: re-resolves the workspace's history under the rules it now
 * has (and re-scores its probabilistic links when matching is configured), then clears the pending
 * mark `setRules` left, so that a crash before the end is resumed at the next start
 * (`resumeRulesChanges`) instead of leaving the graph half under the old rules.
 */
export async function finishRulesChange(
  store: Store,
  ws: Workspace,
  generation: number,
  options: { now: number; onProgress?: (phase: string, done: number) => void },
): Promise<RulesChangeResult> {
  const reresolved = await reresolveWorkspace(store, ws, options);
  // Records are keyed by each identify call's first identifier, which the new rules may change.
  const rescored = ws.rules.matching === undefined ? null : await rescoreWorkspace(store, ws, { now: options.now });
  await store.write(() => store.admin.settleRules(ws.id, generation));
  return { reresolved, rescored };
}

/** Finishes every rules change a crash interrupted; returns the workspaces it re-resolved. */
export async function resumeRulesChanges(store: Store, options: { now: () => number; log?: (line: string) => void }): Promise<string[]> {
  const done: string[] = [];
  for (const { ws: id, generation } of await store.admin.pendingRules()) {
    const ws = await store.admin.workspaceById(id);
    if (ws === undefined) continue;
    options.log?.(`kith: workspace ${ws.name}: a rules change was interrupted; re-resolving its history under the saved rules`);
    await finishRulesChange(store, ws, generation, { now: options.now() });
    options.log?.(`kith: workspace ${ws.name}: re-resolved under its saved rules`);
    done.push(ws.name);
  }
  return done;
}
