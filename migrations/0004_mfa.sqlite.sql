-- Multi-factor authentication. A factor is a TOTP authenticator or a user's set of recovery codes (one
-- `recovery_code` factor whose codes are rows of {mfa_recovery_codes}). TOTP secrets are sealed (AES-256-GCM under
-- GOTRUE_DB_ENCRYPTION_KEY, bound to the instance and factor id); recovery codes are stored as SHA-256 hashes.
-- last_step is the last TOTP time step accepted, so a code is taken once; failed_attempts and locked_until hold
-- the recovery-code lockout, in the database so that every node sees it.
CREATE TABLE {mfa_factors} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES {users} (id) ON DELETE CASCADE,
  friendly_name TEXT NOT NULL DEFAULT '',
  factor_type TEXT NOT NULL,
  status TEXT NOT NULL,
  secret TEXT NULL,
  last_step INTEGER NOT NULL DEFAULT 0,
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  locked_until TEXT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  last_challenged_at TEXT NULL
);
CREATE INDEX {mfa_factors}_user ON {mfa_factors} (user_id, created_at);

CREATE TABLE {mfa_challenges} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  factor_id TEXT NOT NULL REFERENCES {mfa_factors} (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  verified_at TEXT NULL
);
CREATE INDEX {mfa_challenges}_factor ON {mfa_challenges} (factor_id);

CREATE TABLE {mfa_recovery_codes} (
  id TEXT PRIMARY KEY,
  instance_id TEXT NOT NULL,
  factor_id TEXT NOT NULL REFERENCES {mfa_factors} (id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  used_at TEXT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX {mfa_recovery_codes}_factor ON {mfa_recovery_codes} (factor_id, code_hash);

-- The authentication methods of a session, with their times (the `amr` claim of its access tokens), as
-- supabase/auth keeps them: one row per method, the latest use.
CREATE TABLE {mfa_amr_claims} (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL REFERENCES {sessions} (id) ON DELETE CASCADE,
  authentication_method TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX {mfa_amr_claims}_session_method ON {mfa_amr_claims} (session_id, authentication_method);
