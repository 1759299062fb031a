-- One row per session, i.e. per refresh-token family: `id` is the family id that access tokens carry as
-- `session_id`. user_agent and ip are coarse summaries ("Firefox on Linux", "203.0.113.0/24"), never the raw
-- header or address: enough for a user to recognise a device, not a record of where they were. A revoked row is
-- kept until the access tokens it may have issued have expired, so every node can refuse them.
CREATE TABLE {sessions} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES {users} (id) ON DELETE CASCADE,
  aal TEXT NOT NULL DEFAULT 'aal1',
  user_agent TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  refreshed_at TEXT NULL,
  not_after TEXT NULL,
  revoked_at TEXT NULL
);
CREATE INDEX {sessions}_user ON {sessions} (user_id);
CREATE INDEX {sessions}_revoked ON {sessions} (instance_id, revoked_at);
