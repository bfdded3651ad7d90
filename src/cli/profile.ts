import type { Command } from 'commander';
import { profileView, type ProfileView } from '../profile/profile-view.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** `kith profile TYPE:VALUE`: identifiers, traits, recent events and merge/split history. */
export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description('show the unified profile that holds an identifier (or profile_id:<id>)')
    .argument('<identifier>', 'TYPE:VALUE, e.g. email:jane@example.com or profile_id:prf_...')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--events <n>', 'how many recent events to show', '10')
    .option('--json', 'print JSON')
    .action(async (identifier: string, opts: { db?: string; workspace: string; events: string; json?: boolean }) => {
      const events = Number(opts.events);
      if (!Number.isInteger(events) || events < 0 || events > 1000) throw new CliError('--events must be an integer from 0 to 1000');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const result = await profileView(app.store.read, ws, identifier, events);
        if (!result.ok) throw new CliError(result.message);
        process.stdout.write(opts.json === true ? `${JSON.stringify(result.view, null, 2)}\n` : render(result.view));
      });
    });
}

function render(v: ProfileView): string {
  const lines = [`Profile ${v.profileId}`, `  first seen ${v.createdAt}, last seen ${v.updatedAt}`, '', `Identifiers (${v.identifiers.length}):`];
  const width = Math.min(60, Math.max(...v.identifiers.map((i) => i.type.length + i.value.length + 1), 10));
  for (const i of v.identifiers) lines.push(`  ${`${i.type}:${i.value}`.padEnd(width)}  first seen ${i.firstSeen ?? 'unknown'} via ${i.source ?? 'unknown'}`);
  lines.push('', 'Traits:');
  const traits = Object.entries(v.traits);
  if (traits.length === 0) lines.push('  (none)');
  for (const [k, val] of traits) lines.push(`  ${k}: ${JSON.stringify(val)}`);
  lines.push('', 'Consent:');
  if (v.consent.length === 0) lines.push('  (none recorded)');
  for (const c of v.consent) lines.push(`  ${c.purpose}: ${c.granted ? 'granted' : 'denied'} (since ${c.updatedAt}, message ${c.messageId})`);
  lines.push('', `Recent events (${v.recentEvents.length} shown, newest first):`);
  if (v.recentEvents.length === 0) lines.push('  (none)');
  for (const e of v.recentEvents) lines.push(`  ${e.timestamp}  ${e.type.padEnd(8)} ${e.event ?? ''}  [${e.source}] ${e.messageId}`);
  lines.push('', 'History:');
  if (v.history.length === 0) lines.push('  (no merges or splits)');
  for (const h of v.history) {
    const what = h.kind === 'merge' ? `merged ${h.related.join(', ')} into ${h.profileId}` : h.kind === 'split' ? `${h.profileId} split into ${[h.profileId, ...h.related].join(', ')}` : `${h.kind} ${h.profileId} ${JSON.stringify(h.detail)}`;
    lines.push(`  ${h.at}  ${what}${h.messageId === null ? '' : ` (message ${h.messageId})`}`);
  }
  return `${lines.join('\n')}\n`;
}
