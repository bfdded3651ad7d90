import type { Command } from 'commander';
import { describeLocation, isPostgresUrl, migrateDatabase } from '../app.ts';
import { loadConfig } from '../config.ts';
import { CliError } from './cli-error.ts';
import { dbOption } from './common.ts';

/**
 * `kith migrate --db postgres://...`: brings a PostgreSQL database's schema up to date. Safe to run
 * from several nodes at once (the first applies what is missing, the others wait and find it done);
 * `kith serve` runs the same step at start. SQLite files are migrated whenever they are opened.
 */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create or update the schema of a PostgreSQL database')
    .addOption(dbOption())
    .action(async (opts: { db?: string }) => {
      const db = opts.db ?? loadConfig(process.env).db;
      if (!isPostgresUrl(db)) {
        throw new CliError(`migrate needs a PostgreSQL URL (--db postgres://...); a SQLite file such as ${db} is migrated whenever kith opens it`);
      }
      const { from, to } = await migrateDatabase(db);
      const where = describeLocation(db);
      process.stdout.write(from === to ? `${where}: schema is up to date (version ${to})\n` : `${where}: schema migrated from version ${from} to ${to}\n`);
    });
}
