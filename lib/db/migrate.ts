// Forward-only migrations: migrations/NNNN_name.<dialect>.sql, applied in numeric order and recorded in
// {schema_migrations}. On SQLite each file runs in one transaction (its DDL is transactional); MySQL commits
// DDL implicitly, so each statement runs on its own and files are kept small. Statements are split on `;`
// at line end, so no multi-statement mode is ever enabled on the pool.
// The bundled migrations are embedded (migrations/index.ts imports them as text), so a `bun build --compile`
// binary migrates without the folder; GOTRUE_DB_MIGRATIONS_PATH points at a folder read from disk instead.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from '../../migrations/index.ts'
import { type Db, dbTime, UniqueViolation } from './index.ts'

/** The source folder of the bundled migrations. Passed as `dir` it selects their embedded copy (the same
 *  files in a source run; the only copy in a compiled binary, where this path does not exist). */
export const BUNDLED_MIGRATIONS = join(import.meta.dir, '..', '..', 'migrations')

/** `file` is where the SQL came from (for the embedded ones: its path in the source tree). */
export interface Migration { version: string; name: string; file: string; sql: string }

const byVersion = (a: Migration, b: Migration) => Number(a.version) - Number(b.version)

/** The migrations of one dialect in a folder on disk. */
export function listMigrations(dir: string, dialect: Db['dialect']): Migration[] {
  const re = new RegExp(`^(\\d+)_(.+)\\.${dialect}\\.sql$`)
  return readdirSync(dir)
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((x) => x.m)
    .map(({ f, m }) => ({ version: m![1] as string, name: m![2] as string, file: join(dir, f), sql: readFileSync(join(dir, f), 'utf8') }))
    .sort(byVersion)
}

/** The embedded migrations of one dialect (migrations/index.ts). */
export function embeddedMigrations(dialect: Db['dialect']): Migration[] {
  return MIGRATIONS.filter((m) => m.dialect === dialect)
    .map((m) => ({ version: m.version, name: m.name, file: join(BUNDLED_MIGRATIONS, `${m.version}_${m.name}.${dialect}.sql`), sql: m.sql }))
    .sort(byVersion)
}

const migrationsIn = (dir: string, dialect: Db['dialect']) =>
  dir === BUNDLED_MIGRATIONS ? embeddedMigrations(dialect) : listMigrations(dir, dialect)

/** Comment lines go first, so a `;` ending a comment inside a statement cannot split it. */
export function splitStatements(sql: string): string[] {
  return sql
    .replace(/^[ \t]*--.*(?:\r?\n|$)/gm, '')
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter(Boolean)
}

const CREATE_TABLE = {
  sqlite: 'CREATE TABLE IF NOT EXISTS {schema_migrations} (version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)',
  mysql: 'CREATE TABLE IF NOT EXISTS {schema_migrations} (version VARCHAR(32) NOT NULL PRIMARY KEY, applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
}

async function appliedVersions(db: Db): Promise<Set<string>> {
  await db.run(CREATE_TABLE[db.dialect])
  const rows = await db.all<{ version: string }>('SELECT version FROM {schema_migrations}')
  return new Set(rows.map((r) => r.version))
}

export async function pendingMigrations(db: Db, dir = BUNDLED_MIGRATIONS): Promise<Migration[]> {
  const done = await appliedVersions(db)
  return migrationsIn(dir, db.dialect).filter((m) => !done.has(m.version))
}

const LOCK_TABLE = 'CREATE TABLE IF NOT EXISTS {schema_migrations_lock} (name VARCHAR(32) NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL, expires_at DATETIME(3) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'
/** How long a holder may go silent before another node takes the lock over (it renews at a third of this). */
const LEASE_MS = 30_000

/** Takes the cluster-wide migration lock: a row under a unique key. Not GET_LOCK, which is held by one server:
 *  on a multi-primary cluster (Galera) every node would get its own. Two nodes inserting the row at once on two
 *  servers conflict at certification (or on the key) and exactly one commit survives. A holder that died is
 *  replaced once its lease has run out. Returns the release function. */
async function lockMigrations(db: Db, now: () => Date, waitMs = 120_000): Promise<() => Promise<void>> {
  await db.run(LOCK_TABLE)
  const holder = crypto.randomUUID()
  const expiry = () => dbTime(new Date(now().getTime() + LEASE_MS))
  const until = Date.now() + waitMs
  for (;;) {
    try {
      await db.run('INSERT INTO {schema_migrations_lock} (name, holder, expires_at) VALUES (?, ?, ?)', ['migrate', holder, expiry()])
      break
    } catch (e) {
      if (!(e instanceof UniqueViolation)) throw e
    }
    const taken = await db.run('UPDATE {schema_migrations_lock} SET holder = ?, expires_at = ? WHERE name = ? AND expires_at < ?', [holder, expiry(), 'migrate', dbTime(now())])
    if (taken.changes === 1) break
    if (Date.now() > until) throw new Error('migrate: timed out waiting for another node to finish migrating')
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200))
  }
  const renew = setInterval(() => {
    void db.run('UPDATE {schema_migrations_lock} SET expires_at = ? WHERE name = ? AND holder = ?', [expiry(), 'migrate', holder]).catch(() => {})
  }, LEASE_MS / 3)
  return async () => {
    clearInterval(renew)
    await db.run('DELETE FROM {schema_migrations_lock} WHERE name = ? AND holder = ?', ['migrate', holder])
  }
}

/** Applies every pending migration; returns what it applied, in order. Safe when several nodes start at once:
 *  on SQLite each file's transaction (BEGIN IMMEDIATE) re-checks that the file is still pending; on MySQL a
 *  lock row (lockMigrations) lets one node migrate while the others wait, then re-read what is applied: the
 *  holder before it recorded each version before deleting the row, and a cluster applies writes in order, so a
 *  node that sees the row gone sees those versions. */
export async function migrate(db: Db, dir = BUNDLED_MIGRATIONS, now = () => new Date()): Promise<Migration[]> {
  const applied: Migration[] = []
  const record = (d: Db, m: Migration) => d.run('INSERT INTO {schema_migrations} (version, applied_at) VALUES (?, ?)', [m.version, dbTime(now())])
  if (db.dialect === 'sqlite') {
    for (const m of await pendingMigrations(db, dir)) {
      const done = await db.tx(async (t) => {
        if (await t.get('SELECT version FROM {schema_migrations} WHERE version = ?', [m.version])) return false
        for (const s of splitStatements(m.sql)) await t.run(s)
        await record(t, m)
        return true
      })
      if (done) applied.push(m)
    }
    return applied
  }
  const release = await lockMigrations(db, now)
  try {
    for (const m of await pendingMigrations(db, dir)) {
      for (const s of splitStatements(m.sql)) await db.run(s)
      await record(db, m)
      applied.push(m)
    }
  } finally { await release() }
  return applied
}
