import type { Command } from 'commander';
import { explain } from '../identity/explain.ts';
import { identifierKey, parseIdentifierKey, type IdentifierKey } from '../identity/identifier.ts';
import { normaliseIdentifier } from '../identity/normalise-identifier.ts';
import type { Workspace } from '../store/ports.ts';
import { CliError } from './cli-error.ts';
import { dbOption, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** `kith explain A B`: the chain of evidence joining two identifiers, or the rule keeping them apart. */
export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('show why two identifiers are in one profile, or what keeps them apart')
    .argument('<a>', 'TYPE:VALUE')
    .argument('<b>', 'TYPE:VALUE')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--json', 'print JSON')
    .action(async (a: string, b: string, opts: { db?: string; workspace: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const from = normalisedKey(ws, a);
        const to = normalisedKey(ws, b);
        const result = await explain(app.store.read, ws, from, to);
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify({ from, to, ...result }, null, 2)}\n`);
          return;
        }
        const lines: string[] = [];
        if (result.linked) {
          lines.push(`${from} and ${to} are in profile ${result.profileId}, joined by ${result.path.length} link(s):`);
          result.path.forEach((s, i) => {
            lines.push(`  ${i + 1}. ${s.from} — ${s.to}`);
            if (s.match === undefined) {
              lines.push(`     ${s.rule}: message ${s.messageId} from source "${s.source}" at ${s.timestamp}`);
              return;
            }
            lines.push(`     ${s.rule} (pair ${s.match.pairId}, ${s.match.kind === 'manual' ? `accepted ${s.match.decidedAt ?? ''}` : `model ${s.match.modelVersion}`})`);
            for (const a of s.match.attributes as Array<{ attribute: string; label: string | null; weight: number }>) {
              lines.push(`       ${a.attribute.padEnd(12)} ${(a.label ?? 'missing').padEnd(44)} ${a.weight >= 0 ? '+' : ''}${a.weight.toFixed(2)}`);
            }
          });
        } else {
          lines.push(`${from} and ${to} are not linked: ${result.reason}.`);
          for (const r of result.keptApartBy) {
            lines.push(`  - message ${r.messageId} at ${r.timestamp}: ${r.identifier} was not joined to ${r.refusedJoining}'s profile (rule: ${r.rule})`);
          }
        }
        process.stdout.write(`${lines.join('\n')}\n`);
      });
    });
}

export function normalisedKey(ws: Workspace, text: string): IdentifierKey {
  const parsed = parseIdentifierKey(text);
  if (parsed === undefined) throw new CliError(`"${text}" is not TYPE:VALUE (for example email:jane@example.com)`);
  const normal = normaliseIdentifier(parsed.type, parsed.value, ws.rules);
  if (!normal.ok) throw new CliError(normal.reason);
  return identifierKey(parsed.type, normal.value);
}
