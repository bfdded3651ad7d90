import { Command, CommanderError } from 'commander';
import { registerServe } from './serve.ts';
import { registerWorkspace } from './workspace.ts';
import { registerProfile } from './profile.ts';
import { registerExplain } from './explain.ts';
import { registerDemo } from './demo.ts';
import { registerRejected } from './rejected.ts';
import { registerUnlink } from './unlink.ts';
import { registerErase } from './erase.ts';
import { registerExportPerson } from './export-person.ts';
import { registerRules } from './rules.ts';
import { registerKeys } from './keys.ts';
import { registerMigrate } from './migrate.ts';
import { registerWorker } from './worker.ts';
import { registerConsume } from './consume.ts';
import { registerStatus } from './status.ts';
import { registerImport } from './import.ts';
import { registerExport } from './export.ts';
import { registerDedupe } from './dedupe.ts';
import { registerLink } from './link.ts';
import { registerMatch } from './match.ts';
import { registerReview } from './review.ts';
import { CliError } from './cli-error.ts';

/**
 * The `kith` command. Each subcommand lives in its own file; this one only assembles them and
 * turns every failure into one clear line on stderr and a non-zero exit code.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('kith')
    .description('kith — a customer data platform with a real-time, explainable identity graph')
    .exitOverride()
    // One line per error: commander's message, prefixed like every other kith error, with the hint.
    .configureOutput({ outputError: (text, write) => write(`${text.trim().replace(/^error: /, 'kith: ')} (see --help)\n`) });
  registerServe(program);
  registerMigrate(program);
  registerWorker(program);
  registerConsume(program);
  registerStatus(program);
  registerWorkspace(program);
  registerProfile(program);
  registerExplain(program);
  registerUnlink(program);
  registerErase(program);
  registerExportPerson(program);
  registerRules(program);
  registerKeys(program);
  registerRejected(program);
  registerDemo(program);
  registerDedupe(program);
  registerLink(program);
  registerMatch(program);
  registerReview(program);
  registerImport(program);
  registerExport(program);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliError) {
      process.stderr.write(`kith: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`kith: ${message.split('\n')[0]}\n`);
    return 1;
  }
}
