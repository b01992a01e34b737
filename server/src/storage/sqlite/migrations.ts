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
  /* 2: weekly reports: request log, membership additions, stored reports, indexes the reports read */ `
  CREATE TABLE request_log (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT,
    method TEXT,
    route TEXT,
    status INTEGER,
    duration_ms INTEGER,
    bytes_in INTEGER,
    bytes_out INTEGER
  );
  -- Covering: a week's requests are read from the index alone.
  CREATE INDEX request_log_for_reports ON request_log(at, kind, user_id, method, route);

  -- conversation_members forgets a member who leaves; reports must still count the addition.
  CREATE TABLE member_events (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    user_id TEXT NOT NULL,
    added_by TEXT,
    at INTEGER NOT NULL
  );
  CREATE INDEX member_events_by_time ON member_events(at, conversation_id, added_by);
  -- Members added with the conversation were added by its creator; later ones by someone unknown.
  INSERT INTO member_events (conversation_id, user_id, added_by, at)
    SELECT m.conversation_id, m.user_id, CASE WHEN m.added_at = c.created_at THEN c.created_by END, m.added_at
      FROM conversation_members m JOIN conversations c ON c.id = m.conversation_id
     WHERE m.user_id <> c.created_by;

  -- The week is the key: two processes on one database can never store a week twice.
  CREATE TABLE reports (
    week TEXT PRIMARY KEY,
    timezone TEXT NOT NULL,
    from_ms INTEGER NOT NULL,
    to_ms INTEGER NOT NULL,
    generated_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    compacted_through INTEGER
  ) WITHOUT ROWID;

  -- Covering indexes for a week's actions; update_log_by_time is a prefix of the new one.
  DROP INDEX update_log_by_time;
  CREATE INDEX update_log_for_reports ON update_log(server_time, user_id, conversation_id, actions);
  CREATE INDEX messages_for_reports ON messages(server_time, author_id, conversation_id);
  CREATE INDEX users_by_created ON users(created_at);
  CREATE INDEX conversations_by_created ON conversations(created_at, created_by);
  `,
  /* 3: video uploads and finished videos */ `
  -- One row per tus upload; the id is the tus upload id (random, never from the client).
  CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    filename TEXT NOT NULL,
    claimed_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('uploading', 'ready', 'failed')),
    ended_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX uploads_by_user ON uploads(user_id, status, created_at);
  CREATE INDEX uploads_unfinished ON uploads(status, created_at);

  -- Finished videos; seq is the completion order (the listing cursor).
  CREATE TABLE videos (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE REFERENCES uploads(id),
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    uploader_id TEXT NOT NULL REFERENCES users(id),
    filename TEXT NOT NULL,
    mime TEXT NOT NULL,
    codec TEXT,
    size INTEGER NOT NULL,
    duration_ms INTEGER,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX videos_by_conversation ON videos(conversation_id, seq);
  CREATE INDEX videos_for_reports ON videos(created_at, uploader_id, conversation_id, size);
  `,
  /* 4: weekly report rollups, kept in the transaction of every row they count */ `
  -- Actions per ISO week of REPORT_TZ (rollup_meta), kind, user and conversation; '' stands for
  -- none (a key column cannot be NULL). n: actions; bytes: video bytes; first/last: instants.
  CREATE TABLE rollup_week_actions (
    week TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    conversation_id TEXT NOT NULL DEFAULT '',
    n INTEGER NOT NULL,
    bytes INTEGER NOT NULL DEFAULT 0,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (week, kind, user_id, conversation_id)
  ) WITHOUT ROWID;
  -- REST and tus requests (request_log kind 'http') per week, user ('' anonymous), method, route.
  CREATE TABLE rollup_week_requests (
    week TEXT NOT NULL,
    user_id TEXT NOT NULL DEFAULT '',
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    n INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (week, user_id, method, route)
  ) WITHOUT ROWID;
  -- Actions per UTC quarter hour (instant / 900000): free of any zone, since every offset is a
  -- multiple of 15 minutes, so each slice lies in one local hour (byDay, byHour).
  CREATE TABLE rollup_slices (
    slice INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
  );
  -- The REPORT_TZ the week labels were computed in; no row until the first start fills them.
  CREATE TABLE rollup_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    timezone TEXT NOT NULL
  );
  `,
  /* 5: message search: an FTS5 trigram index of live message text */ `
  -- One row per indexed message; its id is the rowid of its text in search_text. seq and the
  -- author come from messages.
  CREATE TABLE search_messages (
    id INTEGER PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    message_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (conversation_id, message_id)
  );
  -- Trigrams find substrings in any script (no word splitting, which Chinese lacks).
  -- secure-delete: a deleted or edited text's trigrams leave the index at once, instead of
  -- staying behind a delete marker until segments merge.
  CREATE VIRTUAL TABLE search_text USING fts5(text, tokenize = 'trigram');
  INSERT INTO search_text (search_text, rank) VALUES ('secure-delete', 1);
  -- Conversations whose index is rebuilt from their document: every existing one here (texts
  -- live only in the Yjs documents), later any whose index write failed.
  CREATE TABLE search_stale (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id)
  );
  INSERT INTO search_stale (conversation_id) SELECT id FROM conversations ORDER BY created_at;
  `,
];
