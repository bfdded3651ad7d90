import { Option } from 'commander';
import { createApp, type App } from '../app.ts';
import { loadConfig } from '../config.ts';
import type { Workspace } from '../store/ports.ts';
import { CliError } from './cli-error.ts';

export const dbOption = (): Option =>
  new Option('--db <path|url>', 'SQLite file or postgres:// URL (env KITH_DB; default data/kith.db)');
export const workspaceOption = (): Option => new Option('-w, --workspace <name>', 'workspace name').default('default');

/** Opens the configured store for a one-shot command and closes it afterwards. */
export async function withApp<T>(opts: { db?: string }, fn: (app: App) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  const app = await createApp({ db: opts.db ?? config.db });
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
