-- One row per session, i.e. per refresh-token family: `id` is the family id that access tokens carry as
-- `session_id`. user_agent and ip are coarse summaries ("Firefox on Linux", "203.0.113.0/24"), never the raw
-- header or address: enough for a user to recognise a device, not a record of where they were. A revoked row is
-- kept until the access tokens it may have issued have expired, so every node can refuse them.
CREATE TABLE {sessions} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  aal VARCHAR(16) NOT NULL DEFAULT 'aal1',
  user_agent VARCHAR(64) NOT NULL DEFAULT '',
  ip VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL,
  refreshed_at DATETIME(3) NULL,
  not_after DATETIME(3) NULL,
  revoked_at DATETIME(3) NULL,
  KEY {sessions}_user (user_id),
  KEY {sessions}_revoked (instance_id, revoked_at),
  CONSTRAINT {sessions}_user_fk FOREIGN KEY (user_id) REFERENCES {users} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
