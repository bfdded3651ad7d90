import type { Command } from 'commander';
import type { KeyRole } from '../store/ports.ts';
import { CliError } from './cli-error.ts';
import { dbOption, iso, requireWorkspace, withApp, workspaceOption } from './common.ts';

const ROLES: readonly KeyRole[] = ['write', 'read', 'admin'];

/**
 * `kith keys list|create|rotate|revoke`: a workspace's API keys. New keys are printed once; only
 * their hashes are stored. A running server notices revocations within its 2-second key cache.
 */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description("list, create, rotate and revoke a workspace's API keys");
  keys
    .command('list')
    .description('list keys (id, role, prefix, source, created, revoked)')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .option('--json', 'print JSON')
    .action(async (opts: { db?: string; workspace: string; json?: boolean }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const list = await app.workspaces.listKeys(ws.id);
        if (opts.json === true) {
          process.stdout.write(`${JSON.stringify(list)}\n`);
          return;
        }
        for (const k of list) {
          process.stdout.write(`${k.id}\t${k.role}\t${k.prefix}…\tsource=${k.source}\tcreated ${iso(k.createdAt)}${k.revokedAt === null ? '' : `\trevoked ${iso(k.revokedAt)}`}\n`);
        }
      });
    });
  keys
    .command('create')
    .description('create a key and print it once')
    .argument('<role>', 'write, read or admin')
    .option('--source <name>', 'for write keys: the source name its data is labelled with', 'default')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (role: string, opts: { source: string; db?: string; workspace: string }) => {
      if (!ROLES.includes(role as KeyRole)) throw new CliError(`role must be write, read or admin, not "${role}"`);
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(opts.source)) throw new CliError('--source must be 1-64 letters, digits, "_", "." or "-"');
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const key = await app.workspaces.addKey(ws.id, role as KeyRole, opts.source);
        process.stdout.write(`${key}\n`);
      });
    });
  keys
    .command('rotate')
    .description('replace a key with a new one (same role and source) and revoke the old one')
    .argument('<id>', 'key id, from kith keys list')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (id: string, opts: { db?: string; workspace: string }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const rotated = await app.workspaces.rotateKey(ws.id, id);
        if (!rotated.ok) throw new CliError(rotated.message);
        process.stdout.write(`${rotated.key}\n`);
      });
    });
  keys
    .command('revoke')
    .description('revoke a key')
    .argument('<id>', 'key id, from kith keys list')
    .addOption(dbOption())
    .addOption(workspaceOption())
    .action(async (id: string, opts: { db?: string; workspace: string }) => {
      await withApp(opts, async (app) => {
        const ws = await requireWorkspace(app, opts.workspace);
        const revoked = await app.workspaces.revokeKey(ws.id, id);
        if (!revoked.ok) throw new CliError(revoked.message);
        process.stdout.write(`revoked ${id}\n`);
      });
    });
}
