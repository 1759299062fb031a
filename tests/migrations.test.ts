// Migrations come in pairs (NNNN_name.sqlite.sql / NNNN_name.mysql.sql) that must describe the same schema:
// same tables, same column names in the same order, same index names. Checked twice: by reading the SQL text,
// and by applying the files to a real database and reading its catalog.
import { dropNamespace, slow } from './harness.ts'
import { afterAll, describe, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Db } from '../lib/db/index.ts'
import { BUNDLED_MIGRATIONS, embeddedMigrations, listMigrations, migrate, pendingMigrations, splitStatements } from '../lib/db/migrate.ts'
import { openMysql } from '../lib/db/mysql.ts'
import { openSqlite } from '../lib/db/sqlite.ts'
import { MIGRATIONS } from '../migrations/index.ts'

const MYSQL_URL = process.env.TEST_MYSQL_URL ?? ''
const EXPECTED_TABLES = ['audit_log_entries', 'flow_states', 'identities', 'instances', 'mfa_amr_claims', 'mfa_challenges', 'mfa_factors', 'mfa_recovery_codes', 'one_time_tokens', 'refresh_tokens', 'schema_migrations', 'sessions', 'users']
const sqlite = listMigrations(BUNDLED_MIGRATIONS, 'sqlite')
const mysql = listMigrations(BUNDLED_MIGRATIONS, 'mysql')

interface TableShape { columns: string[]; indexes: string[] }
type Schema = Record<string, TableShape>
const NOT_COLUMNS = new Set(['KEY', 'UNIQUE', 'CONSTRAINT', 'PRIMARY', 'INDEX', 'FOREIGN'])

/** Reads CREATE TABLE blocks, CREATE [UNIQUE] INDEX statements and inline [UNIQUE] KEY lines from SQL text.
 *  Index names lose their `{table}` token: `{users}_instance_created` → `users: _instance_created`. */
function parseSchema(sql: string): Schema {
  const schema: Schema = {}
  const table = (name: string) => (schema[name] ??= { columns: [], indexes: [] })
  for (const stmt of splitStatements(sql)) {
    const create = /^CREATE TABLE (?:IF NOT EXISTS )?\{(\w+)\}\s*\(([\s\S]*)\)[^)]*$/i.exec(stmt)
    if (create) {
      const t = table(create[1] as string)
      for (const line of (create[2] as string).split('\n').map((l) => l.trim()).filter(Boolean)) {
        const first = line.split(/[\s(,]/)[0] as string
        const key = /^(UNIQUE\s+)?KEY\s+(\S+)/i.exec(line)
        if (key) t.indexes.push(`${key[1] ? 'unique ' : ''}${(key[2] as string).replace(/\{\w+\}/g, '')}`)
        else if (!NOT_COLUMNS.has(first.toUpperCase())) t.columns.push(first)
      }
      continue
    }
    const index = /^CREATE (UNIQUE )?INDEX (?:IF NOT EXISTS )?(\S+) ON \{(\w+)\}/i.exec(stmt)
    if (index) table(index[3] as string).indexes.push(`${index[1] ? 'unique ' : ''}${(index[2] as string).replace(/\{\w+\}/g, '')}`)
  }
  for (const t of Object.values(schema)) t.indexes.sort()
  return schema
}
const fileSchema = (file: string) => parseSchema(readFileSync(file, 'utf8'))

const dir = mkdtempSync(join(tmpdir(), 'gotrue-migrations-'))
const opened: Db[] = []
afterAll(async () => {
  for (const db of opened) await db.close()
  rmSync(dir, { recursive: true, force: true })
})
async function migratedSqlite(namespace = ''): Promise<Db> {
  const db = openSqlite(join(dir, `${namespace || 'plain'}.db`), namespace)
  opened.push(db)
  await migrate(db)
  return db
}
const sqliteTables = async (db: Db) =>
  (await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")).map((r) => r.name)
const sqliteColumns = async (db: Db, table: string) =>
  (await db.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}') ORDER BY cid`)).map((r) => r.name)

describe('migration files', () => {
  test('there is at least one, and every number exists for both dialects', () => {
    expect(sqlite.length).toBeGreaterThan(0)
    expect(sqlite.map((m) => `${m.version}_${m.name}`)).toEqual(mysql.map((m) => `${m.version}_${m.name}`))
  })

  test('numbers are unique and four digits', () => {
    const versions = sqlite.map((m) => m.version)
    expect(new Set(versions).size).toBe(versions.length)
    for (const v of versions) expect(v).toMatch(/^\d{4}$/)
  })

  test.each(sqlite.map((m, i) => [m.version, m.file, mysql[i]?.file ?? '']))(
    '%s: both files create the same tables, columns (in order) and indexes', (_, sqliteFile, mysqlFile) => {
      const lite = fileSchema(sqliteFile)
      expect(Object.keys(lite).length).toBeGreaterThan(0)
      expect(fileSchema(mysqlFile)).toEqual(lite)
    })

  test('the parser sees what it must: columns, inline keys and CREATE INDEX', () => {
    const users = fileSchema(sqlite[0]?.file ?? '').users
    expect(users?.columns.slice(0, 3)).toEqual(['instance_id', 'id', 'aud'])
    expect(users?.indexes).toEqual(['_instance_created', 'unique _instance_aud_email_key'])
    expect(fileSchema(mysql[0]?.file ?? '').users?.indexes).toEqual(users?.indexes ?? [])
  })
})

describe('the embedded copy (migrations/index.ts, what a compiled binary runs)', () => {
  test('lists exactly the .sql files of the folder, each with its exact text', () => {
    const files = readdirSync(BUNDLED_MIGRATIONS).filter((f) => f.endsWith('.sql')).sort()
    const listed = MIGRATIONS.map((m) => `${m.version}_${m.name}.${m.dialect}.sql`)
    expect(listed.sort()).toEqual(files)
    for (const m of MIGRATIONS) {
      expect(m.sql).toBe(readFileSync(join(BUNDLED_MIGRATIONS, `${m.version}_${m.name}.${m.dialect}.sql`), 'utf8'))
    }
  })

  test('equals what listMigrations reads from the folder, for both dialects', () => {
    expect(embeddedMigrations('sqlite')).toEqual(sqlite)
    expect(embeddedMigrations('mysql')).toEqual(mysql)
  })

  test('GOTRUE_DB_MIGRATIONS_PATH: another folder is read from disk instead of the embedded copy', async () => {
    const own = join(dir, 'own-migrations')
    mkdirSync(own)
    const first = sqlite[0]?.file ?? ''
    copyFileSync(first, join(own, first.split('/').pop() as string))
    const db = openSqlite(join(dir, 'own.db'), '')
    opened.push(db)
    expect((await migrate(db, own)).map((m) => m.version)).toEqual(['0001'])
    expect(await pendingMigrations(db, own)).toEqual([])
    expect((await pendingMigrations(db)).map((m) => m.version)).toEqual(sqlite.slice(1).map((m) => m.version))
  })
})

describe('splitStatements', () => {
  test('splits on ; at line end, drops -- comment lines, keeps a statement whole', () => {
    const sql = [
      '-- header comment; with a semicolon',
      'CREATE TABLE a (',
      '  -- the key;',
      "  x TEXT DEFAULT 'p;q',",
      '  y INTEGER',
      ');',
      "INSERT INTO a (x) VALUES ('one;two');  ",
      '-- trailing comment',
    ].join('\n')
    expect(splitStatements(sql)).toEqual([
      "CREATE TABLE a (\n  x TEXT DEFAULT 'p;q',\n  y INTEGER\n)",
      "INSERT INTO a (x) VALUES ('one;two')",
    ])
  })

  test('the bundled files split into one statement per CREATE', () => {
    for (const m of [...sqlite, ...mysql]) {
      const text = readFileSync(m.file, 'utf8')
      const statements = splitStatements(text)
      expect(statements.length).toBe(text.match(/^CREATE /gm)?.length ?? 0)
      for (const s of statements) expect(s).toMatch(/^CREATE /)
    }
  })
})

describe('applied to SQLite', () => {
  test('yields exactly the expected tables, with the columns the files declare', async () => {
    const db = await migratedSqlite()
    expect(await sqliteTables(db)).toEqual(EXPECTED_TABLES)
    const declared: Schema = Object.assign({}, ...sqlite.map((m) => fileSchema(m.file)))
    for (const [table, shape] of Object.entries(declared)) expect(await sqliteColumns(db, table)).toEqual(shape.columns)
    expect(await sqliteColumns(db, 'schema_migrations')).toEqual(['version', 'applied_at'])
  })

  test('sessions: one row per refresh-token family, with summaries (not raw user agents or addresses) and revoked_at', async () => {
    const db = await migratedSqlite('sess')
    expect(await sqliteColumns(db, 'sess_sessions')).toEqual(
      ['id', 'instance_id', 'user_id', 'aal', 'user_agent', 'ip', 'created_at', 'refreshed_at', 'not_after', 'revoked_at'])
    expect(fileSchema(sqlite.find((m) => m.name === 'sessions')?.file ?? '').sessions?.indexes).toEqual(['_revoked', '_user'])
  })

  test('with a namespace every table and index carries the prefix', async () => {
    const db = await migratedSqlite('nsx')
    expect(await sqliteTables(db)).toEqual(EXPECTED_TABLES.map((t) => `nsx_${t}`))
    const indexes = await db.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
    expect(indexes.length).toBeGreaterThan(0)
    for (const { name } of indexes) expect(name.startsWith('nsx_')).toBe(true)
  })
})

describe.if(Boolean(MYSQL_URL))('applied to MySQL', () => {
  test("information_schema columns and index names equal SQLite's for every table", async () => {
    const namespace = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
    const my = openMysql(MYSQL_URL, namespace)
    opened.push(my)
    try {
      await migrate(my)
      const rows = await my.all<{ t: string; c: string }>(
        'SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name LIKE ? ORDER BY table_name, ordinal_position',
        [`${namespace}\\_%`])
      const mysqlSchema: Record<string, string[]> = {}
      for (const { t, c } of rows) (mysqlSchema[t.slice(namespace.length + 1)] ??= []).push(c)
      // The cluster-wide migration lock is MySQL's alone (SQLite serialises migrators with BEGIN IMMEDIATE).
      expect(mysqlSchema.schema_migrations_lock).toEqual(['name', 'holder', 'expires_at'])
      delete mysqlSchema.schema_migrations_lock
      const lite = await migratedSqlite('cmp')
      const liteSchema: Record<string, string[]> = {}
      for (const t of await sqliteTables(lite)) liteSchema[t.slice('cmp_'.length)] = await sqliteColumns(lite, t)
      expect(Object.keys(mysqlSchema).sort()).toEqual(EXPECTED_TABLES)
      expect(mysqlSchema).toEqual(liteSchema)
      // Index names match too. InnoDB adds an index named after a FOREIGN KEY constraint when no index starts
      // with its column (refresh_tokens.user_id); those `_fk` indexes are MySQL-only by construction.
      const myIndexes = (await my.all<{ i: string }>(
        "SELECT DISTINCT index_name AS i FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name LIKE ? AND index_name <> 'PRIMARY'",
        [`${namespace}\\_%`])).map((r) => r.i.slice(namespace.length + 1)).filter((i) => !i.endsWith('_fk'))
      const liteIndexes = (await lite.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
        .map((r) => r.name.slice('cmp_'.length))
      expect(myIndexes.sort()).toEqual(liteIndexes.sort())
    } finally {
      await dropNamespace(my, namespace)
    }
  })
})

describe.if(Boolean(MYSQL_URL))('the migration lock on MySQL', () => {
  const HOUR = 3_600_000
  /** A folder of MySQL migrations, `files` by name without `.mysql.sql`. */
  const folder = (name: string, files: Record<string, string>) => {
    const path = join(dir, name)
    mkdirSync(path)
    for (const [file, sql] of Object.entries(files)) writeFileSync(join(path, `${file}.mysql.sql`), `${sql};\n`)
    return path
  }
  const empty = folder('lock-empty', {})
  const first = folder('lock-first', { '0001_first': 'CREATE TABLE {lease_first} (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB' })
  /** A statement that takes a while in the middle: time for another node to act while this one migrates. */
  const paused = folder('lock-paused', {
    '0001_first': 'CREATE TABLE {lease_first} (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB',
    '0002_pause': 'SELECT SLEEP(1)',
    '0003_last': 'CREATE TABLE {lease_last} (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB',
  })
  const stalled = folder('lock-stalled', { '0001_stall': 'SELECT SLEEP(10)' })
  const clock = (skewMs: number) => () => new Date(Date.now() + skewMs)

  /** A fresh namespace on the test server for `fn`, dropped afterwards. */
  async function inNamespace(fn: (db: Db, namespace: string) => Promise<void>): Promise<void> {
    const namespace = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
    const db = openMysql(MYSQL_URL, namespace)
    try { await fn(db, namespace) } finally {
      await dropNamespace(db, namespace)
      await db.close()
    }
  }
  /** The lock row, with how long its lease has left by the database server's clock. */
  const lockRow = async (db: Db) => {
    const row = await db.get<{ holder: string; left_us: number | string }>(
      "SELECT holder, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), expires_at) AS left_us FROM {schema_migrations_lock} WHERE name = 'migrate'")
    return row && { holder: row.holder, leftMs: Number(row.left_us) / 1000 }
  }
  const versions = async (db: Db) => (await db.all<{ version: string }>('SELECT version FROM {schema_migrations} ORDER BY version')).map((r) => r.version)
  async function until<T>(what: string, probe: () => Promise<T | null | undefined>, ms = 10_000): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const found = await probe().catch(() => null) // the table may not exist yet
      if (found) return found
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await Bun.sleep(20)
    }
  }

  test("a waiting node's own clock does not move the lease: ahead, it leaves a live lease alone; behind, it takes an expired one at once", async () => {
    await inNamespace(async (db) => {
      await migrate(db, first)
      await db.run("INSERT INTO {schema_migrations_lock} (name, holder, expires_at) VALUES ('migrate', 'node-a', UTC_TIMESTAMP(3) + INTERVAL 1 MINUTE)")
      await expect(migrate(db, paused, clock(HOUR), { waitMs: 1000 })).rejects.toThrow(/timed out waiting for another node/)
      expect((await lockRow(db))?.holder).toBe('node-a')
      expect(await versions(db)).toEqual(['0001'])

      await db.run("UPDATE {schema_migrations_lock} SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE name = 'migrate'")
      expect((await migrate(db, paused, clock(-HOUR), { waitMs: 1000 })).map((m) => m.version)).toEqual(['0002', '0003'])
      expect(await lockRow(db)).toBeNull()
    })
  })

  // The holder runs in a process of its own, so that SIGKILL leaves its row behind as a crashed node would.
  const holderProcess = (namespace: string, skewMs: number, leaseMs: number) => Bun.spawn(['bun', '-e', `
    import { migrate } from ${JSON.stringify(join(import.meta.dir, '..', 'lib', 'db', 'migrate.ts'))}
    import { openMysql } from ${JSON.stringify(join(import.meta.dir, '..', 'lib', 'db', 'mysql.ts'))}
    await migrate(openMysql(${JSON.stringify(MYSQL_URL)}, ${JSON.stringify(namespace)}), ${JSON.stringify(stalled)},
      () => new Date(Date.now() + ${skewMs}), { leaseMs: ${leaseMs} })`], { stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' })

  slow.test.each([['ahead', HOUR], ['behind', -HOUR]])(
    "a holder's own clock %s does not move its lease: live while it runs, over one lease after it died", async (_, skewMs) => {
      const leaseMs = 1000
      await inNamespace(async (db, namespace) => {
        const holder = holderProcess(namespace, skewMs as number, leaseMs)
        try {
          const row = await until('the holder to take the lock', () => lockRow(db)).catch(async (e: Error) => {
            throw new Error(`${e.message} (holder: ${holder.exitCode === null ? 'still running' : await new Response(holder.stderr).text()})`)
          })
          // About one lease from the server's now, not an hour off. (A few ms over is possible: UTC_TIMESTAMP is the
          // start of this SELECT, which may read a renewal that began after it.)
          expect(row.leftMs).toBeGreaterThan(0)
          expect(row.leftMs).toBeLessThan(2 * leaseMs)
          // Alive, it renews: a node waiting longer than a lease does not get the lock.
          await expect(migrate(db, empty, undefined, { waitMs: 2 * leaseMs })).rejects.toThrow(/timed out waiting for another node/)
          expect((await lockRow(db))?.holder).toBe(row.holder)
        } finally {
          holder.kill('SIGKILL')
          await holder.exited
        }
        // Dead, its lease runs out one lease after its last renewal, and a waiting node takes over.
        expect(await migrate(db, empty, undefined, { waitMs: 5 * leaseMs })).toEqual([])
        expect(await lockRow(db)).toBeNull()
      })
    }, 20_000)

  // How the holder finds out: the renewal before each statement (a lease as long as production's, which the timer
  // does not renew within the test), or the renewal timer while a statement runs (a short lease). A renewal that
  // keeps failing with an error stops it too, once the lease may be running out: it cannot know whether the lock is
  // still its own.
  test.each([
    ['another node took it over', "UPDATE {schema_migrations_lock} SET holder = 'node-b', expires_at = UTC_TIMESTAMP(3) + INTERVAL 1 MINUTE WHERE name = 'migrate'", 30_000, /lost the migration lock/],
    ['its row was removed', "DELETE FROM {schema_migrations_lock} WHERE name = 'migrate'", 300, /lost the migration lock/],
    ['its renewal fails', 'DROP TABLE {schema_migrations_lock}', 3_000, /could not renew the migration lock/],
  ])('a holder that loses the lock or cannot renew it (%s) applies nothing more, and migrate rejects', async (_, steal, leaseMs, message) => {
    await inNamespace(async (db, namespace) => {
      const running = migrate(db, paused, undefined, { leaseMs: leaseMs as number })
      running.catch(() => {}) // awaited below
      await until('0001 to be recorded', async () => (await versions(db)).includes('0001'))
      await db.run(steal as string) // as a rule while the holder sleeps in 0002, at the latest just before it
      const thief = (await lockRow(db).catch(() => null))?.holder ?? null
      await expect(running).rejects.toThrow(message as RegExp)
      await expect(running).rejects.toThrow(/stopped before (recording )?0002_pause/)
      expect(await versions(db)).toEqual(['0001'])
      expect(await db.get('SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [`${namespace}_lease_last`])).toBeNull()
      expect((await lockRow(db).catch(() => null))?.holder ?? null).toBe(thief) // its release left the new holder's row alone
    })
  })

  test('a renewal that fails once between two statements of one file is tried again: the file is applied whole, not stopped half done', async () => {
    const twoTables = folder('lock-two', { '0001_two': 'CREATE TABLE {lease_a} (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB;\nCREATE TABLE {lease_b} (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB' })
    await inNamespace(async (db, namespace) => {
      let renewals = 0
      // The same database, but the renewal before the file's second statement fails once, as a dropped
      // connection would.
      const flaky: Db = { ...db, run: async (sql, params) => {
        if (/SET expires_at = UTC_TIMESTAMP/.test(sql) && ++renewals === 2) throw new Error('ECONNRESET (injected)')
        return db.run(sql, params)
      } }
      expect((await migrate(flaky, twoTables)).map((m) => m.version)).toEqual(['0001'])
      expect(renewals).toBeGreaterThan(2) // the failed renewal was tried again
      expect(await versions(db)).toEqual(['0001'])
      const tables = await db.all<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?, ?) ORDER BY t', [`${namespace}_lease_a`, `${namespace}_lease_b`])
      expect(tables.map((r) => r.t)).toEqual([`${namespace}_lease_a`, `${namespace}_lease_b`])
      expect(await lockRow(db)).toBeNull()
    })
  })
})
