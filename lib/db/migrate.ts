// Forward-only migrations: migrations/NNNN_name.<dialect>.sql, applied in numeric order and recorded in
// {schema_migrations}. On SQLite each file runs in one transaction (its DDL is transactional); MySQL commits
// DDL implicitly, so each statement runs on its own and files are kept small. Statements are split on `;`
// at line end, so no multi-statement mode is ever enabled on the pool.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Db, dbTime } from './index.ts'

export const BUNDLED_MIGRATIONS = join(import.meta.dir, '..', '..', 'migrations')

export interface Migration { version: string; name: string; file: string }

export function listMigrations(dir: string, dialect: Db['dialect']): Migration[] {
  const re = new RegExp(`^(\\d+)_(.+)\\.${dialect}\\.sql$`)
  return readdirSync(dir)
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((x) => x.m)
    .map(({ f, m }) => ({ version: m![1] as string, name: m![2] as string, file: join(dir, f) }))
    .sort((a, b) => Number(a.version) - Number(b.version))
}

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

export async function appliedVersions(db: Db): Promise<Set<string>> {
  await db.run(CREATE_TABLE[db.dialect])
  const rows = await db.all<{ version: string }>('SELECT version FROM {schema_migrations}')
  return new Set(rows.map((r) => r.version))
}

export async function pendingMigrations(db: Db, dir = BUNDLED_MIGRATIONS): Promise<Migration[]> {
  const done = await appliedVersions(db)
  return listMigrations(dir, db.dialect).filter((m) => !done.has(m.version))
}

/** Applies every pending migration; returns what it applied, in order. */
export async function migrate(db: Db, dir = BUNDLED_MIGRATIONS, now = () => new Date()): Promise<Migration[]> {
  const pending = await pendingMigrations(db, dir)
  for (const m of pending) {
    const statements = splitStatements(readFileSync(m.file, 'utf8'))
    const record = (d: Db) => d.run('INSERT INTO {schema_migrations} (version, applied_at) VALUES (?, ?)', [m.version, dbTime(now())])
    if (db.dialect === 'sqlite') {
      await db.tx(async (t) => {
        for (const s of statements) await t.run(s)
        await record(t)
      })
    } else {
      for (const s of statements) await db.run(s)
      await record(db)
    }
  }
  return pending
}
