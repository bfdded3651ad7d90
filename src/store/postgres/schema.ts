/**
 * The PostgreSQL schema: the same tables as the SQLite store, shaped for a networked, sharded
 * system of record.
 *
 * - Every workspace table has `ws` as the leading column of its primary key and of every index, and
 *   every unique constraint includes it, so a Citus cluster can distribute the schema by workspace
 *   and each workspace's identity graph lives on one shard (every query here filters by `ws`).
 *   To distribute a migrated database on Citus:
 *
 *     SELECT create_reference_table('workspaces');
 *     SELECT create_reference_table('api_keys');   -- keys are looked up by hash before the
 *                                                  -- workspace is known; small, read-mostly
 *     SELECT create_distributed_table('messages', 'ws');
 *     SELECT create_distributed_table('identifiers', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('evidence', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('profiles', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('components', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('history', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('history_profiles', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('redirects', 'ws', colocate_with => 'messages');
 *     SELECT create_distributed_table('rejected', 'ws', colocate_with => 'messages');
 *
 *   (`kith_migrations` stays a local table on the coordinator.) Colocation keeps each write
 *   transaction, which only touches one workspace, on one worker.
 * - Times are epoch milliseconds in BIGINT, as in SQLite; ids are TEXT; JSON state is JSONB. Id
 *   and key columns use the "C" collation, so ordering (cursors, key scans, tie-breaks on message
 *   id) is byte order as in SQLite and in the resolver, whatever the database's locale.
 * - `messages.body` is `json`, not `jsonb`: it is the message as received, kept verbatim (key order,
 *   `\u0000` escapes that jsonb refuses) and never queried inside except for identify traits.
 * - Identifier ids are BIGINT identities, never reused; `evidence` is keyed (ws, ident, seq).
 *
 * Migrations are numbered by their position in MIGRATIONS and applied in order, each recorded in
 * `kith_migrations`. Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE workspaces (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    rules JSONB NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    ws TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id),
    role TEXT NOT NULL,
    hash TEXT COLLATE "C" NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE INDEX api_keys_ws ON api_keys (ws, created_at, seq);

  CREATE TABLE messages (
    ws TEXT COLLATE "C" NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    message_id TEXT COLLATE "C" NOT NULL,
    type TEXT NOT NULL,
    event TEXT,
    t BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    keys JSONB NOT NULL,
    primary_ident BIGINT,
    body JSON NOT NULL,
    PRIMARY KEY (ws, seq),
    UNIQUE (ws, message_id)
  );
  CREATE INDEX messages_primary ON messages (ws, primary_ident, t DESC, message_id DESC);

  CREATE TABLE identifiers (
    ws TEXT COLLATE "C" NOT NULL,
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    key TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    profile TEXT COLLATE "C",
    quarantined BOOLEAN NOT NULL DEFAULT false,
    first_t BIGINT NOT NULL,
    first_m TEXT COLLATE "C" NOT NULL,
    first_pos INTEGER NOT NULL,
    first_source TEXT NOT NULL,
    peers JSONB NOT NULL,
    PRIMARY KEY (ws, id),
    UNIQUE (ws, key)
  );
  CREATE INDEX identifiers_profile ON identifiers (ws, profile);

  CREATE TABLE evidence (
    ws TEXT COLLATE "C" NOT NULL,
    ident BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (ws, ident, seq)
  );

  CREATE TABLE profiles (
    ws TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    component TEXT COLLATE "C" NOT NULL,
    founder TEXT COLLATE "C" NOT NULL,
    founder_t BIGINT NOT NULL,
    founder_m TEXT COLLATE "C" NOT NULL,
    founder_pos INTEGER NOT NULL,
    traits JSONB NOT NULL,
    counts JSONB NOT NULL,
    first_t BIGINT NOT NULL,
    last_t BIGINT NOT NULL,
    PRIMARY KEY (ws, id)
  );
  CREATE INDEX profiles_component ON profiles (ws, component);

  CREATE TABLE components (
    ws TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    max_t BIGINT NOT NULL,
    max_m TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (ws, id)
  );

  CREATE TABLE history (
    ws TEXT COLLATE "C" NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    kind TEXT NOT NULL,
    profile TEXT COLLATE "C" NOT NULL,
    related JSONB NOT NULL,
    at BIGINT NOT NULL,
    message_id TEXT COLLATE "C",
    detail JSONB NOT NULL,
    PRIMARY KEY (ws, seq)
  );
  CREATE TABLE history_profiles (
    ws TEXT COLLATE "C" NOT NULL,
    profile TEXT COLLATE "C" NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (ws, profile, seq)
  );

  CREATE TABLE redirects (
    ws TEXT COLLATE "C" NOT NULL,
    from_id TEXT COLLATE "C" NOT NULL,
    to_ids JSONB NOT NULL,
    PRIMARY KEY (ws, from_id)
  );

  CREATE TABLE rejected (
    ws TEXT COLLATE "C" NOT NULL,
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    received_at BIGINT NOT NULL,
    idx INTEGER,
    message_id TEXT,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    field TEXT,
    body TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (ws, seq)
  );
  `,
  // 2: privacy. Consent per profile; the suppression list of erased identifiers (salted hashes
  // only, with a random salt per workspace); rejected rows findable by message id for erasure.
  // (On Citus: distribute suppressed and suppression_salts by ws, colocated with messages.)
  `
  ALTER TABLE profiles ADD COLUMN consent JSONB NOT NULL DEFAULT '{}';
  CREATE TABLE suppression_salts (
    ws TEXT COLLATE "C" PRIMARY KEY,
    salt TEXT NOT NULL
  );
  CREATE TABLE suppressed (
    ws TEXT COLLATE "C" NOT NULL,
    hash TEXT COLLATE "C" NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (ws, hash)
  );
  CREATE INDEX rejected_message ON rejected (ws, message_id);
  `,
  // 3: probabilistic matching. Each identifier's personal record, the blocking-key index that
  // finds candidates, scored pairs (links, review queue, human decisions) and trained models by
  // version (kept as text: the version hashes the document as written). On Citus: distribute the
  // four tables by ws, colocated with messages.
  `
  CREATE TABLE match_records (
    ws TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    vals JSONB NOT NULL,
    first_t BIGINT NOT NULL,
    first_m TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (ws, key)
  );
  CREATE TABLE match_blocks (
    ws TEXT COLLATE "C" NOT NULL,
    block TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (ws, block, key)
  );
  CREATE INDEX match_blocks_key ON match_blocks (ws, key);
  CREATE TABLE match_pairs (
    ws TEXT COLLATE "C" NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    a TEXT COLLATE "C" NOT NULL,
    b TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    weight DOUBLE PRECISION NOT NULL,
    probability DOUBLE PRECISION NOT NULL,
    model_version TEXT NOT NULL,
    attributes JSONB NOT NULL,
    t BIGINT NOT NULL,
    m TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    PRIMARY KEY (ws, id)
  );
  CREATE INDEX match_pairs_a ON match_pairs (ws, a);
  CREATE INDEX match_pairs_b ON match_pairs (ws, b);
  CREATE INDEX match_pairs_status ON match_pairs (ws, status, id);
  CREATE TABLE match_models (
    ws TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (ws, version)
  );
  `,
  // 4: a rules change is recorded as pending in the same statement that saves the rules, and
  // settled when the workspace has been re-resolved under them, so a crash in between is resumed.
  `
  ALTER TABLE workspaces ADD COLUMN rules_pending BIGINT NOT NULL DEFAULT 0;
  `,
  // 5: an identifier's first evidence (where and when it was first seen) is no longer stored: a
  // late message older than it rewrote the row, about one extra write per message with shuffled
  // arrival. It is read from the evidence when displayed; profiles keep their founder's.
  `
  ALTER TABLE identifiers DROP COLUMN first_t, DROP COLUMN first_m, DROP COLUMN first_pos, DROP COLUMN first_source;
  `,
];

/**
 * Key of the transaction-level advisory lock every migration run takes first, so that nodes
 * starting at once apply each migration exactly once: the others wait, then find nothing to do.
 * ('kith' in ASCII.)
 */
export const MIGRATION_LOCK_KEY = 0x6b697468;
