-- Users, identities, refresh tokens, one-time tokens, audit log and instances (MySQL / MariaDB, InnoDB, utf8mb4).
-- Same columns and indexes as 0001_init.sqlite.sql; indexed text columns are VARCHAR(255).
CREATE TABLE {users} (
  instance_id VARCHAR(36) NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  aud VARCHAR(255) NOT NULL DEFAULT '',
  role VARCHAR(255) NOT NULL DEFAULT '',
  email VARCHAR(255) NOT NULL,
  email_key VARCHAR(255) NOT NULL,
  encrypted_password VARCHAR(255) NOT NULL DEFAULT '',
  confirmed_at DATETIME(3) NULL,
  invited_at DATETIME(3) NULL,
  confirmation_sent_at DATETIME(3) NULL,
  recovery_sent_at DATETIME(3) NULL,
  email_change VARCHAR(255) NOT NULL DEFAULT '',
  email_change_sent_at DATETIME(3) NULL,
  last_sign_in_at DATETIME(3) NULL,
  raw_app_meta_data LONGTEXT NULL,
  raw_user_meta_data LONGTEXT NULL,
  is_super_admin TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY {users}_instance_aud_email_key (instance_id, aud, email_key),
  KEY {users}_instance_created (instance_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {identities} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  provider VARCHAR(64) NOT NULL,
  provider_id VARCHAR(255) NOT NULL,
  email VARCHAR(255) NOT NULL DEFAULT '',
  identity_data LONGTEXT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY {identities}_provider_key (instance_id, provider, provider_id),
  KEY {identities}_user (user_id),
  CONSTRAINT {identities}_user_fk FOREIGN KEY (user_id) REFERENCES {users} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {refresh_tokens} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  token_hash VARCHAR(64) NOT NULL,
  family_id VARCHAR(36) NOT NULL,
  parent_id VARCHAR(36) NULL,
  revoked TINYINT(1) NOT NULL DEFAULT 0,
  revoked_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY {refresh_tokens}_hash (token_hash),
  KEY {refresh_tokens}_user (user_id),
  KEY {refresh_tokens}_family (family_id),
  CONSTRAINT {refresh_tokens}_user_fk FOREIGN KEY (user_id) REFERENCES {users} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {one_time_tokens} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  instance_id VARCHAR(36) NOT NULL,
  user_id VARCHAR(36) NOT NULL,
  token_type VARCHAR(32) NOT NULL,
  token_hash VARCHAR(64) NOT NULL,
  relates_to VARCHAR(255) NOT NULL DEFAULT '',
  created_at DATETIME(3) NOT NULL,
  UNIQUE KEY {one_time_tokens}_hash (token_hash),
  UNIQUE KEY {one_time_tokens}_user_type (user_id, token_type),
  CONSTRAINT {one_time_tokens}_user_fk FOREIGN KEY (user_id) REFERENCES {users} (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {audit_log_entries} (
  instance_id VARCHAR(36) NOT NULL,
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  payload LONGTEXT NOT NULL,
  created_at DATETIME(3) NOT NULL,
  KEY {audit_log_entries}_instance_created (instance_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE {instances} (
  id VARCHAR(36) NOT NULL PRIMARY KEY,
  uuid VARCHAR(255) NULL,
  raw_base_config LONGTEXT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY {instances}_uuid (uuid)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
