-- Server-side state of an external OAuth sign-in between /authorize and /callback: single use, 5 minutes.
CREATE TABLE {flow_states} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  state_hash VARCHAR(64) NOT NULL,
  provider VARCHAR(64) NOT NULL,
  provider_code_verifier VARCHAR(128) NOT NULL DEFAULT '',
  invite_token_hash VARCHAR(64) NOT NULL DEFAULT '',
  referrer VARCHAR(2048) NOT NULL DEFAULT '',
  code_challenge VARCHAR(128) NOT NULL DEFAULT '',
  code_challenge_method VARCHAR(16) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY {flow_states}_hash (state_hash),
  KEY {flow_states}_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
