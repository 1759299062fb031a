-- Multi-factor authentication. A factor is a TOTP authenticator or a user's set of recovery codes (one
-- `recovery_code` factor whose codes are rows of {mfa_recovery_codes}). TOTP secrets are sealed (AES-256-GCM under
-- GOTRUE_DB_ENCRYPTION_KEY, bound to the instance and factor id); recovery codes are stored as SHA-256 hashes.
-- last_step is the last TOTP time step accepted, so a code is taken once; failed_attempts and locked_until hold
-- the recovery-code lockout, in the database so that every node sees it.
CREATE TABLE {mfa_factors} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  friendly_name VARCHAR(255) NOT NULL DEFAULT '',
  factor_type VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL,
  secret TEXT NULL,
  last_step BIGINT NOT NULL DEFAULT 0,
  failed_attempts INT NOT NULL DEFAULT 0,
  locked_until DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  last_challenged_at DATETIME(3) NULL,
  KEY {mfa_factors}_user (user_id, created_at),
  CONSTRAINT {mfa_factors}_user_fk FOREIGN KEY (user_id) REFERENCES {users} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {mfa_challenges} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  factor_id VARCHAR(36) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  verified_at DATETIME(3) NULL,
  KEY {mfa_challenges}_factor (factor_id),
  CONSTRAINT {mfa_challenges}_factor_fk FOREIGN KEY (factor_id) REFERENCES {mfa_factors} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {mfa_recovery_codes} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  factor_id VARCHAR(36) NOT NULL,
  code_hash VARCHAR(64) NOT NULL,
  used_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  KEY {mfa_recovery_codes}_factor (factor_id, code_hash),
  CONSTRAINT {mfa_recovery_codes}_factor_fk FOREIGN KEY (factor_id) REFERENCES {mfa_factors} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The authentication methods of a session, with their times (the `amr` claim of its access tokens), as
-- supabase/auth keeps them: one row per method, the latest use.
CREATE TABLE {mfa_amr_claims} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  session_id VARCHAR(36) NOT NULL,
  authentication_method VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY {mfa_amr_claims}_session_method (session_id, authentication_method),
  CONSTRAINT {mfa_amr_claims}_session_fk FOREIGN KEY (session_id) REFERENCES {sessions} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
