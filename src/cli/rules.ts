import type { Command } from 'commander';
import { parseRules } from '../identity/parse-rules.ts';
import { finishRulesChange } from '../identity/rules-change.ts';
import { CliError } from './cli-error.ts';
import { dbOption, jsonArgument, requireWorkspace, withApp, workspaceOption } from './common.ts';

/** `kith rules get` and `kith rules set FILE|JSON`: the workspace's identity rules. */
export function registerRules(program: Command): void {
  const rules = program.command('rules').description("read or change a workspace's identity rules");
  rules
    .command('get')
    .description('print the rules as JSON')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (opts: { db?: string; workspace: string }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        process.stdout.write(`${JSON.stringify(ws.rules, null, 2)}\n`);
      });
    });
  rules
    .command('set')
    .description('change rules (a JSON document or @file.json merged over the current ones) and re-resolve the workspace')
    .argument('<json>', 'e.g. \'{"types":{"email":{"limit":2}}}\' or @rules.json')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (text: string, opts: { db?: string; workspace: string }) => {
      const raw = jsonArgument(text, 'rules');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const checked = parseRules(raw, ws.rules);
        if (!checked.ok) throw new CliError(`invalid rules${checked.field === '' ? '' : ` at ${checked.field}`}: ${checked.message}`);
        const generation = await app.workspaces.setRules(ws.id, checked.rules);
        process.stdout.write(`${JSON.stringify(checked.rules, null, 2)}\n`);
        const { reresolved: result } = await finishRulesChange(app.store, { ...ws, rules: checked.rules }, generation, {
          now: app.now(),
          onProgress: (phase, done) => {
            if (process.stderr.isTTY) process.stderr.write(`\rre-resolving: ${done} ${phase}`);
          },
        });
        if (process.stderr.isTTY) process.stderr.write('\n');
        process.stderr.write(
          `re-resolved under the new rules: ${result.messages} messages read, ${result.messagesRewritten} with changed identifiers, ${result.identifiersRemoved} identifiers removed\n`,
        );
      });
    });
}
