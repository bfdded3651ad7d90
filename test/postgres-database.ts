import { randomBytes } from 'node:crypto';
import { createPostgresDatabase, dropPostgresDatabase } from '../src/store/postgres/postgres-database.ts';

/**
 * The PostgreSQL server the tests use: the local one by default, or `KITH_TEST_POSTGRES_URL`. Each
 * test creates a database of its own there and drops it afterwards.
 */
export const POSTGRES_SERVER = process.env.KITH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/** A new, empty database named `<prefix>_<random>`. */
export async function createTestDatabase(prefix = 'kith_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = await createPostgresDatabase(POSTGRES_SERVER, name);
  return { name, url, drop: () => dropPostgresDatabase(POSTGRES_SERVER, name) };
}
