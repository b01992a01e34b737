/** Numbered schema migrations, applied in order at start; never edit one that has shipped. */
export const MIGRATIONS: readonly string[] = [
  /* 1: users, sessions, conversations, documents, update log */ `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX sessions_by_user ON sessions(user_id);
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    last_message_at INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0,
    last_log_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE conversation_members (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    added_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
  ) WITHOUT ROWID;
  CREATE INDEX members_by_user ON conversation_members(user_id);
  CREATE TABLE snapshots (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
    state BLOB NOT NULL,
    covered_log_seq INTEGER NOT NULL,
    stored_at INTEGER NOT NULL
  );
  CREATE TABLE update_log (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    log_seq INTEGER NOT NULL,
    user_id TEXT,
    client_id INTEGER,
    server_time INTEGER NOT NULL,
    size INTEGER NOT NULL,
    actions TEXT NOT NULL,
    bytes BLOB,
    PRIMARY KEY (conversation_id, log_seq)
  ) WITHOUT ROWID;
  CREATE INDEX update_log_by_time ON update_log(server_time);
  CREATE TABLE client_bindings (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    client_id INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    next_clock INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, client_id)
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    message_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    author_id TEXT NOT NULL,
    server_time INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, message_id),
    UNIQUE (conversation_id, seq)
  ) WITHOUT ROWID;
  `,
];
