/**
 * The SQLite schema. Every table is keyed by workspace first (the same shape the PostgreSQL store
 * uses, so a workspace can be moved or distributed whole). Migrations are numbered and applied in
 * order inside one transaction; `PRAGMA user_version` records the last one applied.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    rules TEXT NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    ws TEXT NOT NULL REFERENCES workspaces(id),
    role TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX api_keys_ws ON api_keys(ws);
  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY,
    ws TEXT NOT NULL,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT,
    t INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    source TEXT NOT NULL,
    keys TEXT NOT NULL,
    primary_ident INTEGER,
    body TEXT NOT NULL,
    UNIQUE (ws, message_id)
  );
  CREATE INDEX messages_primary ON messages(ws, primary_ident, t DESC, message_id DESC);
  CREATE TABLE identifiers (
    id INTEGER PRIMARY KEY,
    ws TEXT NOT NULL,
    key TEXT NOT NULL,
    type TEXT NOT NULL,
    profile TEXT,
    quarantined INTEGER NOT NULL DEFAULT 0,
    first_t INTEGER NOT NULL,
    first_m TEXT NOT NULL,
    first_pos INTEGER NOT NULL,
    first_source TEXT NOT NULL,
    peers TEXT NOT NULL,
    UNIQUE (ws, key)
  );
  CREATE INDEX identifiers_profile ON identifiers(ws, profile);
  CREATE TABLE evidence (
    ident INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (ident, seq)
  ) WITHOUT ROWID;
  CREATE TABLE profiles (
    ws TEXT NOT NULL,
    id TEXT NOT NULL,
    component TEXT NOT NULL,
    founder TEXT NOT NULL,
    founder_t INTEGER NOT NULL,
    founder_m TEXT NOT NULL,
    founder_pos INTEGER NOT NULL,
    traits TEXT NOT NULL,
    counts TEXT NOT NULL,
    first_t INTEGER NOT NULL,
    last_t INTEGER NOT NULL,
    PRIMARY KEY (ws, id)
  ) WITHOUT ROWID;
  CREATE INDEX profiles_component ON profiles(ws, component);
  CREATE TABLE components (
    ws TEXT NOT NULL,
    id TEXT NOT NULL,
    max_t INTEGER NOT NULL,
    max_m TEXT NOT NULL,
    PRIMARY KEY (ws, id)
  ) WITHOUT ROWID;
  CREATE TABLE history (
    seq INTEGER PRIMARY KEY,
    ws TEXT NOT NULL,
    kind TEXT NOT NULL,
    profile TEXT NOT NULL,
    related TEXT NOT NULL,
    at INTEGER NOT NULL,
    message_id TEXT,
    detail TEXT NOT NULL
  );
  CREATE TABLE history_profiles (
    ws TEXT NOT NULL,
    profile TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (ws, profile, seq)
  ) WITHOUT ROWID;
  CREATE TABLE redirects (
    ws TEXT NOT NULL,
    from_id TEXT NOT NULL,
    to_ids TEXT NOT NULL,
    PRIMARY KEY (ws, from_id)
  ) WITHOUT ROWID;
  CREATE TABLE rejected (
    seq INTEGER PRIMARY KEY,
    ws TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    idx INTEGER,
    message_id TEXT,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    field TEXT,
    body TEXT NOT NULL,
    source TEXT NOT NULL
  );
  CREATE INDEX rejected_ws ON rejected(ws, seq);
  `,
  // 2: privacy. Consent per profile; the suppression list of erased identifiers (salted hashes
  // only, with a random salt per workspace); rejected rows findable by message id for erasure.
  `
  ALTER TABLE profiles ADD COLUMN consent TEXT NOT NULL DEFAULT '{}';
  CREATE TABLE suppression_salts (
    ws TEXT PRIMARY KEY,
    salt TEXT NOT NULL
  );
  CREATE TABLE suppressed (
    ws TEXT NOT NULL,
    hash TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (ws, hash)
  ) WITHOUT ROWID;
  CREATE INDEX rejected_message ON rejected(ws, message_id);
  `,
  // 3: speed. The timeline is read through evidence (each message's evidence rows include its
  // primary identifier), so the per-profile message index, one more random page written for
  // every message, is not needed.
  `
  DROP INDEX IF EXISTS messages_primary;
  `,
  // 4: probabilistic matching. Each identifier's personal record, the blocking-key index that
  // finds candidates (block → identifier, and identifier → its blocks for replacing them), scored
  // pairs (links, review queue, human decisions) and the workspace's trained models by version.
  `
  CREATE TABLE match_records (
    ws TEXT NOT NULL,
    key TEXT NOT NULL,
    vals TEXT NOT NULL,
    first_t INTEGER NOT NULL,
    first_m TEXT NOT NULL,
    PRIMARY KEY (ws, key)
  ) WITHOUT ROWID;
  CREATE TABLE match_blocks (
    ws TEXT NOT NULL,
    block TEXT NOT NULL,
    key TEXT NOT NULL,
    PRIMARY KEY (ws, block, key)
  ) WITHOUT ROWID;
  CREATE INDEX match_blocks_key ON match_blocks(ws, key);
  CREATE TABLE match_pairs (
    ws TEXT NOT NULL,
    id TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    status TEXT NOT NULL,
    weight REAL NOT NULL,
    probability REAL NOT NULL,
    model_version TEXT NOT NULL,
    attributes TEXT NOT NULL,
    t INTEGER NOT NULL,
    m TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    decided_at INTEGER,
    PRIMARY KEY (ws, id)
  ) WITHOUT ROWID;
  CREATE INDEX match_pairs_a ON match_pairs(ws, a);
  CREATE INDEX match_pairs_b ON match_pairs(ws, b);
  CREATE INDEX match_pairs_status ON match_pairs(ws, status, id);
  CREATE TABLE match_models (
    ws TEXT NOT NULL,
    version TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    model TEXT NOT NULL,
    PRIMARY KEY (ws, version)
  ) WITHOUT ROWID;
  `,
  // 5: a rules change is recorded as pending in the same statement that saves the rules, and
  // settled when the workspace has been re-resolved under them, so a crash in between is resumed.
  `
  ALTER TABLE workspaces ADD COLUMN rules_pending INTEGER NOT NULL DEFAULT 0;
  `,
  // 6: an identifier's first evidence (where and when it was first seen) is no longer stored: a
  // late message older than it rewrote the row, about one extra write per message with shuffled
  // arrival. It is read from the evidence when displayed; profiles keep their founder's.
  // (No index or constraint names these columns, so SQLite can drop them.)
  `
  ALTER TABLE identifiers DROP COLUMN first_t;
  ALTER TABLE identifiers DROP COLUMN first_m;
  ALTER TABLE identifiers DROP COLUMN first_pos;
  ALTER TABLE identifiers DROP COLUMN first_source;
  `,
];
