-- Server-side state of an external OAuth sign-in between /authorize and /callback: single use, 5 minutes.
CREATE TABLE {flow_states} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  state_hash TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_code_verifier TEXT NOT NULL DEFAULT '',
  invite_token_hash TEXT NOT NULL DEFAULT '',
  referrer TEXT NOT NULL DEFAULT '',
  code_challenge TEXT NOT NULL DEFAULT '',
  code_challenge_method TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {flow_states}_hash ON {flow_states} (state_hash);
CREATE INDEX {flow_states}_created ON {flow_states} (created_at);
