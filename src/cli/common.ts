import { Option } from 'commander';
import { readFileSync } from 'node:fs';
import { createApp, type App, type AppOptions } from '../app.ts';
import { loadConfig } from '../config.ts';
import type { Workspace } from '../store/ports.ts';
import { CliError } from './cli-error.ts';

export const dbOption = (): Option =>
  new Option('--db <path|url>', 'SQLite file or postgres:// URL (env KITH_DB; default data/kith.db)');
export const workspaceOption = (): Option => new Option('-w, --workspace <name>', 'workspace name').default('default');

/** Opens the configured store for a one-shot command and closes it afterwards. */
/**
 * A JSON document given on the command line, inline or as `@FILE`; a document that is not JSON (or
 * a file that cannot be read) is one clear error naming `what`.
 */
export function jsonArgument(text: string, what: string): unknown {
  try {
    return JSON.parse(text.startsWith('@') ? readFileSync(text.slice(1), 'utf8') : text);
  } catch (err) {
    throw new CliError(`${what} are not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function withApp<T>(opts: { db?: string }, fn: (app: App) => Promise<T>, appOptions: AppOptions = {}): Promise<T> {
  const config = loadConfig(process.env);
  const app = await createApp({ db: opts.db ?? config.db }, appOptions);
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

export async function requireWorkspace(app: App, name: string): Promise<Workspace> {
  const ws = await app.workspaces.byName(name);
  if (ws === undefined) throw new CliError(`no workspace "${name}" in this database (create it with: kith workspace create ${name})`);
  return ws;
}

export function iso(t: number): string {
  return new Date(t).toISOString();
}
