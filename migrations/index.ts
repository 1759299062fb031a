// Every migration file, embedded as text so that `bun build --compile` carries them inside the binary and
// `gotrue migrate` needs no migrations/ folder beside it. Handwritten: when you add NNNN_name.sqlite.sql and
// NNNN_name.mysql.sql, add both here too (tests/migrations.test.ts fails until this list equals the folder).
import init_mysql from './0001_init.mysql.sql' with { type: 'text' }
import init_sqlite from './0001_init.sqlite.sql' with { type: 'text' }
import flow_states_mysql from './0002_flow_states.mysql.sql' with { type: 'text' }
import flow_states_sqlite from './0002_flow_states.sqlite.sql' with { type: 'text' }
import sessions_mysql from './0003_sessions.mysql.sql' with { type: 'text' }
import sessions_sqlite from './0003_sessions.sqlite.sql' with { type: 'text' }
import mfa_mysql from './0004_mfa.mysql.sql' with { type: 'text' }
import mfa_sqlite from './0004_mfa.sqlite.sql' with { type: 'text' }

export interface EmbeddedMigration { version: string; name: string; dialect: 'sqlite' | 'mysql'; sql: string }

export const MIGRATIONS: readonly EmbeddedMigration[] = [
  { version: '0001', name: 'init', dialect: 'sqlite', sql: init_sqlite },
  { version: '0001', name: 'init', dialect: 'mysql', sql: init_mysql },
  { version: '0002', name: 'flow_states', dialect: 'sqlite', sql: flow_states_sqlite },
  { version: '0002', name: 'flow_states', dialect: 'mysql', sql: flow_states_mysql },
  { version: '0003', name: 'sessions', dialect: 'sqlite', sql: sessions_sqlite },
  { version: '0003', name: 'sessions', dialect: 'mysql', sql: sessions_mysql },
  { version: '0004', name: 'mfa', dialect: 'sqlite', sql: mfa_sqlite },
  { version: '0004', name: 'mfa', dialect: 'mysql', sql: mfa_mysql },
]
