import pg from 'pg';

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates an empty database on the server `serverUrl` connects to (any database there, usually
 * `postgres`) and returns the URL of the new one. For tests and benchmarks that need a database of
 * their own; production databases are created by their operators.
 */
export async function createPostgresDatabase(serverUrl: string, name: string): Promise<string> {
  await onServer(serverUrl, `CREATE DATABASE ${quoted(name)}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Drops a database, disconnecting whoever is still connected to it; a missing one is fine. */
export async function dropPostgresDatabase(serverUrl: string, name: string): Promise<void> {
  await onServer(serverUrl, `DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`);
}

function quoted(name: string): string {
  if (!DATABASE_NAME.test(name)) throw new Error(`invalid database name "${name}": use lower-case letters, digits and "_"`);
  return pg.escapeIdentifier(name);
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'kith' });
  // A broken connection also fails the query; the event only needs a listener not to crash.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
