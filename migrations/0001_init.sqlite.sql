-- Users, identities, refresh tokens, one-time tokens, audit log and instances (SQLite).
-- Times are app-written UTC strings 'YYYY-MM-DD HH:MM:SS.mmm'; metadata is JSON text; booleans are 0/1.
CREATE TABLE {users} (
  instance_id TEXT NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
  id TEXT PRIMARY KEY,
  aud TEXT NOT NULL DEFAULT '',
  role TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL,
  email_key TEXT NOT NULL,
  encrypted_password TEXT NOT NULL DEFAULT '',
  confirmed_at TEXT NULL,
  invited_at TEXT NULL,
  confirmation_sent_at TEXT NULL,
  recovery_sent_at TEXT NULL,
  email_change TEXT NOT NULL DEFAULT '',
  email_change_sent_at TEXT NULL,
  last_sign_in_at TEXT NULL,
  raw_app_meta_data TEXT NULL,
  raw_user_meta_data TEXT NULL,
  is_super_admin INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {users}_instance_aud_email_key ON {users} (instance_id, aud, email_key);
CREATE INDEX {users}_instance_created ON {users} (instance_id, created_at);

CREATE TABLE {identities} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES {users} (id) ON DELETE CASCADE,
  provider TEXT NOT NULL,
  provider_id TEXT NOT NULL,
  email TEXT NOT NULL DEFAULT '',
  identity_data TEXT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {identities}_provider_key ON {identities} (instance_id, provider, provider_id);
CREATE INDEX {identities}_user ON {identities} (user_id);

CREATE TABLE {refresh_tokens} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES {users} (id) ON DELETE CASCADE,
  token_hash TEXT NOT NULL,
  family_id TEXT NOT NULL,
  parent_id TEXT NULL,
  revoked INTEGER NOT NULL DEFAULT 0,
  revoked_at TEXT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {refresh_tokens}_hash ON {refresh_tokens} (token_hash);
CREATE INDEX {refresh_tokens}_user ON {refresh_tokens} (user_id);
CREATE INDEX {refresh_tokens}_family ON {refresh_tokens} (family_id);

CREATE TABLE {one_time_tokens} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES {users} (id) ON DELETE CASCADE,
  token_type TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  relates_to TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {one_time_tokens}_hash ON {one_time_tokens} (token_hash);
CREATE UNIQUE INDEX {one_time_tokens}_user_type ON {one_time_tokens} (user_id, token_type);

CREATE TABLE {audit_log_entries} (
  instance_id TEXT NOT NULL,
  id TEXT PRIMARY KEY,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX {audit_log_entries}_instance_created ON {audit_log_entries} (instance_id, created_at);

CREATE TABLE {instances} (
  id TEXT PRIMARY KEY,
  uuid TEXT NULL,
  raw_base_config TEXT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {instances}_uuid ON {instances} (uuid);
