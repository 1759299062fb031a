// The Db adapter contract (lib/db/types.ts): the same cases run against SQLite always and against MySQL when
// TEST_MYSQL_URL is set, so a feature's statement behaves identically on both drivers.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { AsyncLocalStorage } from 'node:async_hooks'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Db, type Dialect, DbUnavailable, dbTime, isoTime, jsonText, openDb, UniqueViolation, WriteConflict } from '../lib/db/index.ts'
import { loadConfig } from '../lib/config.ts'
import { BUNDLED_MIGRATIONS, listMigrations, type Migration, migrate } from '../lib/db/migrate.ts'
import { type MysqlOptions, mysqlTargets, openMysql, parseMysqlDsn, withSafeEscapes } from '../lib/db/mysql.ts'
import { openSqlite } from '../lib/db/sqlite.ts'
import mysql from 'mysql2/promise'
import { Coalescer } from '../lib/db/coalesce.ts'
import { wrapDb } from '../lib/db/instrument.ts'
import { dropNamespace } from './harness.ts'

const MYSQL_URL = process.env.TEST_MYSQL_URL ?? ''
const dialects: Dialect[] = MYSQL_URL ? ['sqlite', 'mysql'] : ['sqlite']
const newNamespace = () => `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`

/** Names of the real tables that carry `${namespace}_`, read from the database's own catalog. */
async function namespacedTables(db: Db, namespace: string): Promise<string[]> {
  const sql = db.dialect === 'sqlite'
    ? "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\' ORDER BY name"
    : 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ? ORDER BY table_name'
  return (await db.all<{ name: string }>(sql, [`${namespace}\\_%`])).map((r) => r.name)
}

const insertUser = (db: Db, id: string, email: string, at = '2026-01-02 03:04:05.678') =>
  db.run('INSERT INTO {users} (id, email, email_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', [id, email, email, at, at])
const findUser = (db: Db, id: string) =>
  db.get<{ id: string; email: string; created_at: string; is_super_admin: number }>(
    'SELECT id, email, created_at, is_super_admin FROM {users} WHERE id = ?', [id])

/** A fresh migrated namespace on MySQL for `fn`, dropped afterwards. */
async function migrated(poolSize: number, fn: (db: Db, namespace: string) => Promise<void>, options: MysqlOptions = {}): Promise<void> {
  const namespace = newNamespace()
  const db = openMysql(MYSQL_URL, namespace, poolSize, 0, options)
  try {
    await migrate(db)
    await fn(db, namespace)
  } finally {
    await dropNamespace(db, namespace)
    await db.close()
  }
}

describe.each(dialects)('Db contract on %s', (dialect) => {
  const namespace = newNamespace()
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-db-'))
  let db: Db
  let firstMigrate: Migration[]
  let secondMigrate: Migration[]

  beforeAll(async () => {
    db = dialect === 'mysql' ? openMysql(MYSQL_URL, namespace) : openSqlite(join(dir, 'db.sqlite'), namespace)
    firstMigrate = await migrate(db)
    secondMigrate = await migrate(db)
    await db.run('CREATE TABLE {counters} (name VARCHAR(64) NOT NULL PRIMARY KEY, n INTEGER NOT NULL)')
  })
  afterAll(async () => {
    await dropNamespace(db, namespace)
    await db.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('reports its dialect', () => expect(db.dialect).toBe(dialect))

  test('migrate() applies every bundled migration once; a second call applies nothing', () => {
    expect(firstMigrate.map((m) => m.version)).toEqual(listMigrations(BUNDLED_MIGRATIONS, dialect).map((m) => m.version))
    expect(firstMigrate.map((m) => m.version)).toEqual(['0001', '0002', '0003', '0004'])
    expect(secondMigrate).toEqual([])
  })

  test('{table} is rewritten to the namespaced table name', async () => {
    const tables = await namespacedTables(db, namespace)
    for (const t of ['users', 'refresh_tokens', 'schema_migrations', 'counters']) expect(tables).toContain(`${namespace}_${t}`)
    expect(tables.every((t) => t.startsWith(`${namespace}_`))).toBe(true)
    if (dialect === 'sqlite') expect(await db.get("SELECT name FROM sqlite_master WHERE name = 'users'")).toBeNull()
  })

  test('insert, get and all take ? parameters and return plain rows', async () => {
    expect(await insertUser(db, 'u-1', 'b@example.com')).toEqual({ changes: 1 })
    await insertUser(db, 'u-2', 'a@example.com')
    expect(await findUser(db, 'u-1')).toEqual({ id: 'u-1', email: 'b@example.com', created_at: '2026-01-02 03:04:05.678', is_super_admin: 0 })
    const rows = await db.all<{ id: string }>('SELECT id FROM {users} WHERE id IN (?, ?) ORDER BY email', ['u-1', 'u-2'])
    expect(rows).toEqual([{ id: 'u-2' }, { id: 'u-1' }])
    expect(await db.all('SELECT id FROM {users} WHERE id = ?', ['nobody'])).toEqual([])
  })

  test('get returns null when no row matches', async () => {
    expect(await findUser(db, 'missing')).toBeNull()
  })

  test('run counts matched rows: an UPDATE to the same value still counts 1', async () => {
    await insertUser(db, 'u-3', 'same@example.com')
    const set = (email: string) => db.run('UPDATE {users} SET email = ? WHERE id = ?', [email, 'u-3'])
    expect(await set('other@example.com')).toEqual({ changes: 1 })
    expect(await set('other@example.com')).toEqual({ changes: 1 })
    expect(await db.run('UPDATE {users} SET email = ? WHERE id = ?', ['x', 'missing'])).toEqual({ changes: 0 })
    expect(await db.run('DELETE FROM {users} WHERE id = ?', ['u-3'])).toEqual({ changes: 1 })
  })

  test('tx commits when fn resolves and returns its value', async () => {
    const out = await db.tx(async (t) => { await insertUser(t, 'tx-ok', 'ok@example.com'); return 42 })
    expect(out).toBe(42)
    expect(await findUser(db, 'tx-ok')).not.toBeNull()
  })

  test('tx rolls back when fn throws, and rethrows', async () => {
    const attempt = db.tx(async (t) => {
      await insertUser(t, 'tx-bad', 'bad@example.com')
      expect(await findUser(t, 'tx-bad')).not.toBeNull() // visible inside the transaction
      throw new Error('boom')
    })
    await expect(attempt).rejects.toThrow('boom')
    expect(await findUser(db, 'tx-bad')).toBeNull()
  })

  test('a duplicate on a unique index throws UniqueViolation', async () => {
    await insertUser(db, 'dup-1', 'dup@example.com')
    await expect(insertUser(db, 'dup-2', 'dup@example.com')).rejects.toBeInstanceOf(UniqueViolation)
    await expect(insertUser(db, 'dup-1', 'pk@example.com')).rejects.toBeInstanceOf(UniqueViolation)
    await expect(db.tx((t) => insertUser(t, 'dup-3', 'dup@example.com'))).rejects.toBeInstanceOf(UniqueViolation)
  })

  test('20 parallel read-increment-write transactions with FOR UPDATE lose no update', async () => {
    await db.run('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['c', 0])
    await Promise.all(Array.from({ length: 20 }, () => db.tx(async (t) => {
      const row = await t.get<{ n: number }>('SELECT n FROM {counters} WHERE name = ? FOR UPDATE', ['c'])
      await Bun.sleep(1) // give a racing transaction the chance to read the same value
      await t.run('UPDATE {counters} SET n = ? WHERE name = ?', [Number(row?.n) + 1, 'c'])
    })))
    expect(await db.get('SELECT n FROM {counters} WHERE name = ?', ['c'])).toEqual({ n: 20 })
  })

  test('two transactions locking two rows in opposite order both complete (a deadlock is retried)', async () => {
    await db.run('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['a', 0])
    await db.run('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['b', 0])
    const crossing = (first: string, second: string) => db.tx(async (t) => {
      await t.get('SELECT n FROM {counters} WHERE name = ? FOR UPDATE', [first])
      await Bun.sleep(30) // both now hold their first lock: on MySQL, InnoDB aborts one of them
      await t.get('SELECT n FROM {counters} WHERE name = ? FOR UPDATE', [second])
      await t.run('UPDATE {counters} SET n = n + 1 WHERE name IN (?, ?)', [first, second])
    })
    await Promise.all([crossing('a', 'b'), crossing('b', 'a')])
    expect(await db.all('SELECT name, n FROM {counters} WHERE name IN (?, ?) ORDER BY name', ['a', 'b'])).toEqual([{ name: 'a', n: 2 }, { name: 'b', n: 2 }])
  })

  test('a statement issued outside an open transaction does not run inside it', async () => {
    const failing = db.tx(async (t) => {
      await insertUser(t, 'in-tx', 'in-tx@example.com')
      await Bun.sleep(50)
      throw new Error('rollback')
    })
    const outside = Bun.sleep(10).then(() => insertUser(db, 'outside', 'outside@example.com'))
    const [txResult, plainResult] = await Promise.allSettled([failing, outside])
    expect(txResult.status).toBe('rejected')
    expect(plainResult).toEqual({ status: 'fulfilled', value: { changes: 1 } })
    expect(await findUser(db, 'in-tx')).toBeNull()
    expect(await findUser(db, 'outside')).not.toBeNull()
  })


  test('afterCommit runs after COMMIT (the write visible, the lock free), never after a rollback; outside a tx at once', async () => {
    const seen: string[] = []
    await db.tx(async (t) => {
      await insertUser(t, 'ac-ok', 'ac-ok@example.com')
      t.afterCommit(() => { seen.push('committed') })
      await t.tx(async (nested) => nested.afterCommit(() => { seen.push('nested') }))
      t.afterCommit(() => { throw new Error('a failing callback does not undo the commit') })
      t.afterCommit(() => {
        // runs after the transaction released its lock/connection: a statement here does not wait or deadlock
        void findUser(db, 'ac-ok').then((r) => seen.push(r ? 'visible' : 'missing'))
      })
      expect(seen).toEqual([])
    })
    await Bun.sleep(20)
    expect(seen).toEqual(['committed', 'nested', 'visible'])
    expect(await findUser(db, 'ac-ok')).not.toBeNull()

    const rolledBack = db.tx(async (t) => {
      await insertUser(t, 'ac-bad', 'ac-bad@example.com')
      t.afterCommit(() => { seen.push('rolled back') })
      throw new Error('boom')
    })
    await expect(rolledBack).rejects.toThrow('boom')
    db.afterCommit(() => { seen.push('outside') })
    expect(seen).toEqual(['committed', 'nested', 'visible', 'outside'])
  })

  test('a retried transaction runs its afterCommit once; what the aborted attempt queued is dropped', async () => {
    await db.run('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['ra', 0])
    await db.run('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['rb', 0])
    let attempts = 0
    const done: string[] = []
    const crossing = (first: string, second: string) => db.tx(async (t) => {
      attempts++
      t.afterCommit(() => { done.push(first) })
      await t.get('SELECT n FROM {counters} WHERE name = ? FOR UPDATE', [first])
      await Bun.sleep(30)
      await t.get('SELECT n FROM {counters} WHERE name = ? FOR UPDATE', [second])
      await t.run('UPDATE {counters} SET n = n + 1 WHERE name IN (?, ?)', [first, second])
    })
    await Promise.all([crossing('ra', 'rb'), crossing('rb', 'ra')])
    // MySQL aborted one of them (a deadlock) and ran it again; SQLite serialised them
    if (dialect === 'mysql') expect(attempts).toBeGreaterThan(2)
    expect(done.sort()).toEqual(['ra', 'rb'])
  })
  test('later(): inside a transaction the write is seen by its next statement and commits with it; a rollback drops it; outside one it runs at once', async () => {
    const seen = await db.tx(async (t) => {
      await t.later('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['later-1', 1])
      await t.later('UPDATE {counters} SET n = n + ? WHERE name = ?', [10, 'later-1'])
      return t.get<{ n: number }>('SELECT n FROM {counters} WHERE name = ?', ['later-1']) // both sent before it, in order
    })
    expect(seen).toEqual({ n: 11 })
    await db.tx(async (t) => { await t.later('UPDATE {counters} SET n = n + ? WHERE name = ?', [100, 'later-1']) }) // queued until COMMIT
    expect(await db.get('SELECT n FROM {counters} WHERE name = ?', ['later-1'])).toEqual({ n: 111 })
    await expect(db.tx(async (t) => {
      await t.later('UPDATE {counters} SET n = n + ? WHERE name = ?', [1000, 'later-1'])
      throw new Error('boom')
    })).rejects.toThrow('boom')
    await db.later('UPDATE {counters} SET n = n + ? WHERE name = ?', [1, 'later-1'])
    expect(await db.get('SELECT n FROM {counters} WHERE name = ?', ['later-1'])).toEqual({ n: 112 })
  })

  test("later(): a queued write's error (a duplicate) fails the transaction as UniqueViolation, and nothing of it commits", async () => {
    await insertUser(db, 'lv-1', 'lv@example.com')
    for (const next of ['commit', 'statement'] as const) {
      await expect(db.tx(async (t) => {
        await insertUser(t, `lv-${next}`, `lv-${next}@example.com`)
        await t.later('INSERT INTO {users} (id, email, email_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
          ['lv-2', 'lv@example.com', 'lv@example.com', '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.678'])
        if (next === 'statement') await findUser(t, 'lv-1') // the statement the queued write travels with throws
      })).rejects.toBeInstanceOf(UniqueViolation)
      expect(await findUser(db, `lv-${next}`)).toBeNull()
    }
  })

  test('soon(): the read runs before the statement issued next, after the writes queued before it, and its rows arrive with that answer; alone when nothing follows; outside a transaction at once', async () => {
    await db.run('INSERT INTO {counters} (name, n) VALUES (?, ?)', ['soon-1', 1])
    const [before, after, alone] = await db.tx(async (t) => {
      await t.later('UPDATE {counters} SET n = n + ? WHERE name = ?', [10, 'soon-1']) // queued before the read: seen by it
      const read = t.soon<{ n: number }>('SELECT n FROM {counters} WHERE name = ? FOR UPDATE', ['soon-1'])
      await t.run('UPDATE {counters} SET n = n + ? WHERE name = ?', [100, 'soon-1']) // issued after it: not seen by it
      const first = await read
      const second = await t.get<{ n: number }>('SELECT n FROM {counters} WHERE name = ?', ['soon-1'])
      // awaited with nothing issued after it: sent on its own, never left waiting for a statement that never comes
      const third = await t.soon<{ n: number }>('SELECT n FROM {counters} WHERE name = ?', ['soon-1'])
      return [first, second, third]
    })
    expect(before).toEqual([{ n: 11 }])
    expect(after).toEqual({ n: 111 })
    expect(alone).toEqual([{ n: 111 }])
    expect(await db.soon('SELECT n FROM {counters} WHERE name = ?', ['soon-1'])).toEqual([{ n: 111 }])
  })

  test("soon(): the error of the command it travels in rejects it and fails the transaction; unawaited, it does not surface on its own", async () => {
    await insertUser(db, 'sv-1', 'sv@example.com')
    let read: Promise<unknown> | null = null
    await expect(db.tx(async (t) => {
      await insertUser(t, 'sv-2', 'sv-2@example.com')
      read = t.soon('SELECT id FROM {users} WHERE id = ?', ['sv-1'])
      await insertUser(t, 'sv-3', 'sv@example.com') // a duplicate address
    })).rejects.toBeInstanceOf(UniqueViolation)
    // on MySQL the read travelled with the failing insert and shares its error; on SQLite it had run at once
    if (dialect === 'mysql') await expect(read as unknown as Promise<unknown>).rejects.toBeInstanceOf(UniqueViolation)
    else expect(await (read as unknown as Promise<unknown>)).toEqual([{ id: 'sv-1' }])
    expect(await findUser(db, 'sv-2')).toBeNull()
    // a read that fails with nothing awaiting it: nothing escapes as an unhandled rejection
    let unhandled = 0
    const count = () => { unhandled++ }
    process.on('unhandledRejection', count)
    try {
      // also through a wrapper that derives its own promise (metrics and tracing, lib/instrument.ts)
      for (const handle of [db, wrapDb(db, (_kind, _sql, run) => run().then((v) => v))]) {
        await handle.tx(async (t) => {
          void t.soon('SELECT nope FROM {users}')
          await Bun.sleep(20)
          await t.get('SELECT 1 AS one')
        }).catch(() => {})
      }
      await Bun.sleep(20)
    } finally { process.off('unhandledRejection', count) }
    expect(unhandled).toBe(0)
  })

  test('times are stored and read back as the same dbTime string', async () => {
    const d = new Date('2026-03-04T05:06:07.089Z')
    await insertUser(db, 'time-1', 'time@example.com', dbTime(d))
    const row = await findUser(db, 'time-1')
    expect(row?.created_at).toBe('2026-03-04 05:06:07.089') // identical text from both drivers
    expect(isoTime(row?.created_at)).toBe(d.toISOString())
  })

  test('jsonText reads a JSON text field as plain text on both dialects (unquoted, unescaped; missing: NULL)', async () => {
    const doc = JSON.stringify({ full_name: 'Zoë "Q" O\'Neil', traits: { user_id: 'u-9' } })
    const field = (path: string) => db.get<{ x: string | null }>(`SELECT ${jsonText(db.dialect, 'v', path)} AS x FROM (SELECT ? AS v) d`, [doc])
    expect(await field('$.full_name')).toEqual({ x: 'Zoë "Q" O\'Neil' })
    expect(await field('$.traits.user_id')).toEqual({ x: 'u-9' })
    expect(await field('$.absent')).toEqual({ x: null })
  })
})

describe('jsonText', () => {
  test('splices only identifier columns and $.a.b paths into a statement', () => {
    expect(jsonText('sqlite', 'payload', '$.actor_id')).toBe("JSON_EXTRACT(payload, '$.actor_id')")
    expect(jsonText('mysql', 'u.raw_user_meta_data', '$.a.b')).toBe("JSON_UNQUOTE(JSON_EXTRACT(u.raw_user_meta_data, '$.a.b'))")
    for (const [col, path] of [['payload', "$.x') OR 1=1 --"], ['payload; DROP', '$.x'], ['payload', 'x'], ['payload', '$[0]']]) {
      expect(() => jsonText('sqlite', col as string, path as string)).toThrow()
    }
  })
})

describe('time helpers', () => {
  test.each(['1970-01-01T00:00:00.000Z', '2026-01-02T03:04:05.678Z', '2038-12-31T23:59:59.999Z'])('isoTime(dbTime(%s)) round-trips', (iso) => {
    const d = new Date(iso)
    expect(dbTime(d)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/)
    expect(isoTime(dbTime(d))).toBe(d.toISOString())
  })
  test('isoTime keeps null and accepts seconds without fraction', () => {
    expect(isoTime(null)).toBeNull()
    expect(isoTime('2026-01-02 03:04:05')).toBe('2026-01-02T03:04:05.000Z')
  })
})

describe('parseMysqlDsn', () => {
  test.each([
    ['user:pass@tcp(127.0.0.1:3306)/gotrue?parseTime=true', { host: '127.0.0.1', port: 3306, user: 'user', password: 'pass', database: 'gotrue' }],
    ['root@localhost/gotrue', { host: 'localhost', port: 3306, user: 'root', password: '', database: 'gotrue' }],
    ['mysql://root@127.0.0.1:3306/test', { host: '127.0.0.1', port: 3306, user: 'root', password: '', database: 'test' }],
    ['mysql://u:p%40ss@h:3307/db', { host: 'h', port: 3307, user: 'u', password: 'p@ss', database: 'db' }],
    ['u:p/w@tcp(h)/db', { host: 'h', port: 3306, user: 'u', password: 'p/w', database: 'db' }],
  ])('%s', (dsn, expected) => {
    expect(parseMysqlDsn(dsn)).toEqual(expected)
  })
  test.each(['root@tcp(127.0.0.1:3306)/', 'mysql://root@127.0.0.1:3306', 'root@localhost'])('%s without a database throws', (dsn) => {
    expect(() => parseMysqlDsn(dsn)).toThrow(/database/)
  })
  test('several hosts (a Galera cluster): every one, in order, sharing the credentials and the database', () => {
    const node = (host: string, port: number) => ({ host, port, user: 'u', password: 'p', database: 'db' })
    expect(mysqlTargets('mysql://u:p@h1:3307,h2:3308, h3/db')).toEqual([node('h1', 3307), node('h2', 3308), node('h3', 3306)])
    expect(mysqlTargets('u:p@tcp(h1:3307,h2:3308)/db?parseTime=true')).toEqual([node('h1', 3307), node('h2', 3308)])
    expect(parseMysqlDsn('mysql://u:p@h1:3307,h2:3308/db')).toEqual(node('h1', 3307))
  })
})

describe('openMysql with several hosts', () => {
  test.if(Boolean(MYSQL_URL))('the first host refusing connections: statements run on the next one', async () => {
    const u = new URL(MYSQL_URL)
    const db = openMysql(MYSQL_URL.replace(`@${u.host}/`, `@127.0.0.1:1,${u.host}/`), newNamespace(), 2)
    try {
      expect(Number((await db.get<{ ok: number }>('SELECT 1 AS ok'))?.ok)).toBe(1)
      expect(await db.tx(async (t) => Number((await t.get<{ ok: number }>('SELECT 2 AS ok'))?.ok))).toBe(2)
    } finally { await db.close() }
  })
})

describe('openMysql when a connection dies inside a transaction', () => {
  test.if(Boolean(MYSQL_URL))('killed before its ROLLBACK: the connection is dropped, and the next statement gets a live one', async () => {
    const db = openMysql(MYSQL_URL, newNamespace(), 1) // one connection: a dead one handed back would be the next one used
    const admin = await mysql.createConnection(MYSQL_URL)
    try {
      await expect(db.tx(async (t) => {
        const id = Number((await t.get<{ id: number }>('SELECT CONNECTION_ID() AS id'))?.id)
        await admin.query(`KILL ${id}`)
        throw new Error('the handler failed')
      })).rejects.toThrow('the handler failed')
      expect(Number((await db.get<{ ok: number }>('SELECT 1 AS ok'))?.ok)).toBe(1)
      expect(await db.tx(async (t) => Number((await t.get<{ ok: number }>('SELECT 2 AS ok'))?.ok))).toBe(2)
    } finally {
      await admin.end()
      await db.close()
    }
  })
})

describe('WriteConflict: a locked row gone before the write (another Galera node spent it)', () => {
  test.if(Boolean(MYSQL_URL))('MySQL runs the transaction again; the rerun sees what the first attempt could not', async () => {
    const db = openMysql(MYSQL_URL, newNamespace(), 2)
    try {
      let attempts = 0
      expect(await db.tx(async () => {
        attempts++
        if (attempts === 1) throw new WriteConflict('spent meanwhile')
        return 'second attempt'
      })).toBe('second attempt')
      expect(attempts).toBe(2)
    } finally { await db.close() }
  })
})

describe('a MySQL transaction that ends under its handler without an error (a Galera abort MariaDB does not report)', () => {
  // A ROLLBACK sent from inside the handler stands in for the server rolling the transaction back on its own: the
  // statements after it get no error either. (Behind a comment: the adapter refuses a statement that begins with
  // ROLLBACK inside a transaction.) The savepoint that catches it is sent on Galera nodes only; checkAlways sends
  // it to the single server here (the Galera tier checks that a node gets it without being asked).
  const always = { checkAlways: true }
  const counted = async (db: Db) => Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM {users}'))?.n)
  test.if(Boolean(MYSQL_URL))('a write after it is not committed on its own; the attempt runs again whole', async () => {
    await migrated(2, async (db) => {
      let attempts = 0
      const out = await db.tx(async (t) => {
        attempts++
        await insertUser(t, `a${attempts}`, `a${attempts}@example.com`)
        if (attempts === 1) await t.run('/* the server, silently */ ROLLBACK')
        await insertUser(t, `b${attempts}`, `b${attempts}@example.com`)
        return attempts
      })
      expect({ out, attempts }).toEqual({ out: 2, attempts: 2 })
      expect((await db.all<{ id: string }>('SELECT id FROM {users} ORDER BY id')).map((r) => r.id)).toEqual(['a2', 'b2'])
    }, always)
  })
  /** `other` opens a transaction that holds row r2 and has written more than ours will have (InnoDB rolls back the
   *  lighter of a deadlocked pair: ours, once ours waits for r2 and `other` for a row ours holds). */
  const heavierHolder = async (other: mysql.Connection, users: string) => {
    await other.query('START TRANSACTION')
    await other.query(`UPDATE \`${users}\` SET email = 'r2-theirs@example.com' WHERE id = 'r2'`)
    for (const id of ['x1', 'x2', 'x3']) await insertUser({ run: (sql: string, p: unknown[]) => other.query(sql.replace('{users}', `\`${users}\``), p) } as unknown as Db, id, `${id}@example.com`)
  }
  /** A migrated namespace holding users r1 and r2, and a second connection for the other side of a deadlock. */
  const deadlockRig = async (fn: (db: Db, other: mysql.Connection, users: string) => Promise<void>) => {
    const other = await mysql.createConnection(MYSQL_URL)
    try {
      await migrated(2, async (db, namespace) => {
        await insertUser(db, 'r1', 'r1@example.com')
        await insertUser(db, 'r2', 'r2@example.com')
        await fn(db, other, `${namespace}_users`)
      })
    } finally { await other.end() }
  }
  test.if(Boolean(MYSQL_URL))('a real rollback the handler never sees (a deadlock it swallowed), on a single server without the savepoint: its later write is not committed; the attempt runs again whole', async () => {
    await deadlockRig(async (db, other, users) => {
      let attempts = 0
      let swallowed = ''
      await db.tx(async (t) => {
        attempts++
        if (attempts === 1) {
          await t.run('UPDATE {users} SET email = ? WHERE id = ?', ['r1-mine@example.com', 'r1'])
          await heavierHolder(other, users)
          const waiting = t.run('UPDATE {users} SET email = ? WHERE id = ?', ['r2-mine@example.com', 'r2']).catch((e: { code?: string }) => e.code ?? 'error')
          await Bun.sleep(100)
          await other.query(`UPDATE \`${users}\` SET email = 'r1-theirs@example.com' WHERE id = 'r1'`) // the cycle
          swallowed = String(await waiting)
          await other.query('COMMIT')
        }
        await insertUser(t, `w${attempts}`, `w${attempts}@example.com`)
      })
      expect({ swallowed, attempts }).toEqual({ swallowed: 'ER_LOCK_DEADLOCK', attempts: 2 })
      const ids = (await db.all<{ id: string }>('SELECT id FROM {users} ORDER BY id')).map((r) => r.id)
      expect(ids).toEqual(['r1', 'r2', 'w2', 'x1', 'x2', 'x3'])
    })
  })
  test.if(Boolean(MYSQL_URL))('a statement the handler did not await, rolled back as a deadlock victim after the handler returned: COMMIT waits for it, and the attempt runs again whole', async () => {
    await deadlockRig(async (db, other, users) => {
      let attempts = 0
      let late = ''
      const done = db.tx(async (t) => {
        attempts++
        await insertUser(t, `w${attempts}`, `w${attempts}@example.com`)
        if (attempts > 1) return
        await t.run('UPDATE {users} SET email = ? WHERE id = ?', ['r1-mine@example.com', 'r1'])
        await heavierHolder(other, users)
        // Waits for the other transaction's lock; the handler returns without it.
        void t.run('UPDATE {users} SET email = ? WHERE id = ?', ['r2-mine@example.com', 'r2']).catch((e: { code?: string }) => { late = e.code ?? 'error' })
      })
      await Bun.sleep(150)
      await other.query(`UPDATE \`${users}\` SET email = 'r1-theirs@example.com' WHERE id = 'r1'`) // the cycle: ours is the lighter
      await other.query('COMMIT')
      await done
      expect({ late, attempts }).toEqual({ late: 'ER_LOCK_DEADLOCK', attempts: 2 })
      expect((await db.all<{ id: string }>('SELECT id FROM {users} ORDER BY id')).map((r) => r.id)).toEqual(['r1', 'r2', 'w2', 'x1', 'x2', 'x3'])
    })
  })
  test.if(Boolean(MYSQL_URL))('with only reads after it (or its last statement not awaited), COMMIT is not taken for success: the attempt runs again whole', async () => {
    await migrated(2, async (db) => {
      let attempts = 0
      await db.tx(async (t) => {
        attempts++
        await insertUser(t, `c${attempts}`, `c${attempts}@example.com`)
        if (attempts === 1) await t.run('/* the server, silently */ ROLLBACK')
        await t.get('SELECT id FROM {users} WHERE id = ?', ['nobody'])
      })
      expect({ attempts, n: await counted(db) }).toEqual({ attempts: 2, n: 1 })
      attempts = 0
      await db.tx(async (t) => {
        attempts++
        await insertUser(t, `u${attempts}`, `u${attempts}@example.com`)
        if (attempts === 1) void t.run('/* the server, silently */ ROLLBACK')
      })
      expect({ attempts, n: await counted(db) }).toEqual({ attempts: 2, n: 2 })
      // nothing ended under it, last statement a read: committed at the first attempt
      attempts = 0
      await db.tx(async (t) => {
        attempts++
        await insertUser(t, 'd1', 'd1@example.com')
        await t.get('SELECT id FROM {users} WHERE id = ?', ['d1'])
      })
      expect({ attempts, n: await counted(db) }).toEqual({ attempts: 1, n: 3 })
    }, always)
  })
  test.if(Boolean(MYSQL_URL))('a read it lands on, then only writes queued with later(): they go with the savepoint check, are not committed, and the attempt runs again whole', async () => {
    await migrated(2, async (db) => {
      await insertUser(db, 'q1', 'q1@example.com')
      await insertUser(db, 'q2', 'q2@example.com')
      let attempts = 0
      await db.tx(async (t) => {
        attempts++
        // The read the abort lands on (the transaction pool's connections take several statements in one command).
        await t.all(attempts === 1 ? 'SELECT id FROM {users} WHERE id = ?;\nROLLBACK' : 'SELECT id FROM {users} WHERE id = ?', ['q1'], { text: true })
        await t.later('UPDATE {users} SET email = ? WHERE id = ?', [`q${attempts}-later@example.com`, `q${attempts}`])
        await t.later('INSERT INTO {users} (id, email, email_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
          [`l${attempts}`, `l${attempts}@example.com`, `l${attempts}@example.com`, '2026-01-02 03:04:05.678', '2026-01-02 03:04:05.678'])
      })
      expect(attempts).toBe(2)
      expect(await db.all('SELECT id, email FROM {users} ORDER BY id')).toEqual([
        { id: 'l2', email: 'l2@example.com' }, { id: 'q1', email: 'q1@example.com' }, { id: 'q2', email: 'q2-later@example.com' }])
    }, always)
  })
  test.if(Boolean(MYSQL_URL))('a statement that would end the transaction (DDL, COMMIT) is refused before it is sent: nothing committed, not retried', async () => {
    await migrated(2, async (db) => {
      for (const sql of ['CREATE TABLE {extra} (id INT)', 'COMMIT', ' set autocommit = 1', 'LOCK TABLES {users} WRITE']) {
        let attempts = 0
        await expect(db.tx(async (t) => {
          attempts++
          await insertUser(t, 'f1', 'f1@example.com')
          await t.run(sql)
        })).rejects.toThrow('not inside a transaction')
        expect({ sql, attempts, n: await counted(db) }).toEqual({ sql, attempts: 1, n: 0 })
      }
    })
  })
  test.if(Boolean(MYSQL_URL))('single statements outside a transaction still commit (their connections keep autocommit on)', async () => {
    await migrated(1, async (db) => {
      await db.tx((t) => insertUser(t, 'e1', 'e1@example.com'))
      await insertUser(db, 'e2', 'e2@example.com')
      expect(await counted(db)).toBe(2)
    })
  })
})

describe('MySQL session escaping', () => {
  test.if(Boolean(MYSQL_URL))('a session that starts in NO_BACKSLASH_ESCAPES or a GBK charset (an init_connect, a proxy) is set back before its first statement: parameters arrive as sent, nothing stacked', async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1, multipleStatements: true })
    // Registered first, so it runs first: what a server's init_connect would have done to the session. With the
    // session's variable tracking off, mysql2 does not learn of the charset change.
    pool.on('connection', (conn) => {
      conn.query("SET SESSION session_track_system_variables = '', SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',NO_BACKSLASH_ESCAPES'), NAMES gbk")
    })
    withSafeEscapes(pool)
    try {
      for (const hostile of ["x\\' AS v; SELECT 'stacked' AS v; -- \\", "a\u4e3f' AS v; SELECT CHAR(80,87,78) AS v; -- "]) {
        const [results] = await pool.query('SELECT ? AS v', [hostile]) as unknown as [{ v: string }[]]
        expect(results).toEqual([{ v: hostile }]) // one result set: the parameter stayed a string
      }
      const [[session]] = await pool.query('SELECT @@SESSION.sql_mode AS mode, @@SESSION.character_set_client AS cs') as unknown as [[{ mode: string; cs: string }]]
      expect({ backslashesOff: session.mode.includes('NO_BACKSLASH_ESCAPES'), cs: session.cs }).toEqual({ backslashesOff: false, cs: 'utf8mb4' })
    } finally { await pool.end() }
  })
})

describe('MySQL transactions asked to read committed', () => {
  test.if(Boolean(MYSQL_URL))('a locking read by a unique secondary key locks that row only, not the gap before it: an insert of the key just below does not wait; a second read sees what committed meanwhile. A default transaction keeps one snapshot', async () => {
    const other = await mysql.createConnection(MYSQL_URL)
    try {
      await migrated(2, async (db, namespace) => {
        await db.run('CREATE TABLE {gaps} (id VARCHAR(8) NOT NULL PRIMARY KEY, k VARCHAR(8) NOT NULL, UNIQUE KEY {gaps}_k (k))')
        for (const k of ['k050', 'k060']) await db.run('INSERT INTO {gaps} (id, k) VALUES (?, ?)', [k, k])
        await other.query('SET SESSION innodb_lock_wait_timeout = 1')
        const seen = await db.tx(async (t) => {
          expect(await t.get('SELECT id FROM {gaps} WHERE k = ? FOR UPDATE', ['k050'])).toEqual({ id: 'k050' })
          // Under REPEATABLE READ this insert waits for the lock on the gap before k050 (1 s, then ER_LOCK_WAIT_TIMEOUT).
          await other.query(`INSERT INTO \`${namespace}_gaps\` (id, k) VALUES ('k049', 'k049')`)
          return (await t.all<{ id: string }>('SELECT id FROM {gaps} ORDER BY id')).map((r) => r.id)
        }, { readCommitted: true })
        expect(seen).toEqual(['k049', 'k050', 'k060'])
        const snapshot = await db.tx(async (t) => {
          const before = (await t.all<{ id: string }>('SELECT id FROM {gaps} ORDER BY id')).map((r) => r.id)
          await other.query(`INSERT INTO \`${namespace}_gaps\` (id, k) VALUES ('k048', 'k048')`)
          return { before, after: (await t.all<{ id: string }>('SELECT id FROM {gaps} ORDER BY id')).map((r) => r.id) }
        })
        expect(snapshot).toEqual({ before: ['k049', 'k050', 'k060'], after: ['k049', 'k050', 'k060'] })
      })
    } finally { await other.end() }
  })
})

describe('what a MySQL transaction sends besides its own statements', () => {
  /** The session's own counters and level, read inside a transaction (pool size 1: every transaction is on the one
   *  connection, so the counters cover all of them). */
  const probe = (t: Db) => t.get<{ level: string; savepoints: string; sets: string }>(
    "SELECT @@SESSION.tx_isolation AS level, (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_SAVEPOINT') AS savepoints, " +
    "(SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_SET_OPTION') AS sets")
  test.if(Boolean(MYSQL_URL))('a single server gets no savepoint (it reports its rollbacks); with checkAlways every transaction begins with one', async () => {
    for (const [options, expected] of [[{}, 0], [{ checkAlways: true }, 3]] as const) {
      await migrated(1, async (db) => {
        for (const id of ['s1', 's2']) await db.tx((t) => insertUser(t, id, `${id}@example.com`))
        expect(Number((await db.tx(probe))?.savepoints)).toBe(expected)
      }, options)
    }
  })
  test.if(Boolean(MYSQL_URL))('GOTRUE_DB_CHECK_EVERY_COMMIT reaches the adapter: a savepoint in every transaction, none without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gotrue-check-'))
    try {
      for (const [value, expected] of [['false', [0, 0]], ['true', [1, 2]]] as const) {
        const env = { GOTRUE_DB_DRIVER: 'mysql', GOTRUE_DB_DATABASE_URL: MYSQL_URL, GOTRUE_DB_POOL_SIZE: '1', GOTRUE_DB_CHECK_EVERY_COMMIT: value, GOTRUE_JWT_SECRET: 'x'.repeat(32) }
        const db = await openDb(loadConfig({ env, cwd: dir }))
        try {
          const counts = [Number((await db.tx(probe))?.savepoints), Number((await db.tx(probe))?.savepoints)]
          expect(counts).toEqual([...expected])
        } finally { await db.close() }
      }
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
  test.if(Boolean(MYSQL_URL))('READ COMMITTED stays on the session from one such transaction to the next (no statement to ask again), and a default transaction after them has the server\'s level back', async () => {
    await migrated(1, async (db) => {
      const serverLevel = String((await db.tx(probe))?.level)
      expect(serverLevel).toBe('REPEATABLE-READ') // MariaDB's and MySQL's default, which the case is about
      const first = await db.tx(probe, { readCommitted: true })
      const second = await db.tx(probe, { readCommitted: true })
      const after = await db.tx(probe)
      expect([first?.level, second?.level, after?.level]).toEqual(['READ-COMMITTED', 'READ-COMMITTED', serverLevel])
      expect(Number(second?.sets) - Number(first?.sets)).toBe(0) // the second one sent no SET
      expect(Number(after?.sets) - Number(second?.sets)).toBe(1)
    })
  })
  test.if(Boolean(MYSQL_URL))('a session that starts READ COMMITTED (a server default, an init_connect): transactions not asked for it run REPEATABLE READ all the same', async () => {
    // init_connect runs for users without SUPER only, so the root sessions of every other test are left alone.
    const admin = await mysql.createConnection(MYSQL_URL)
    const [[before]] = await admin.query('SELECT @@GLOBAL.init_connect AS v') as unknown as [[{ v: string }]]
    const target = parseMysqlDsn(MYSQL_URL)
    try {
      await admin.query("CREATE USER IF NOT EXISTS 'gotrue_rc_probe'@'%'")
      await admin.query(`GRANT ALL ON \`${target.database}\`.* TO 'gotrue_rc_probe'@'%'`)
      await admin.query("SET GLOBAL init_connect = 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'")
      const db = openMysql(`mysql://gotrue_rc_probe@${target.host}:${target.port}/${target.database}`, newNamespace(), 1)
      try {
        const level = async (options?: { readCommitted: boolean }) => (await db.tx((t) => t.get<{ l: string }>('SELECT @@SESSION.tx_isolation AS l'), options))?.l
        expect([await level(), await level({ readCommitted: true }), await level()]).toEqual(['REPEATABLE-READ', 'READ-COMMITTED', 'REPEATABLE-READ'])
      } finally { await db.close() }
    } finally {
      await admin.query('SET GLOBAL init_connect = ?', [before.v ?? ''])
      await admin.query("DROP USER IF EXISTS 'gotrue_rc_probe'@'%'")
      await admin.end()
    }
  })
  test.if(Boolean(MYSQL_URL))('a command that carried the switch and failed leaves the level unknown: the next transaction sets its own', async () => {
    await migrated(1, async (db) => {
      // The SET travels with the first statement, runs, and the statement after it fails: the session is READ
      // COMMITTED though the transaction failed.
      await expect(db.tx((t) => t.get('SELECT no_such_column FROM {users}'), { readCommitted: true })).rejects.toThrow()
      expect((await db.tx(probe))?.level).toBe('REPEATABLE-READ')
      await expect(db.tx((t) => t.get('SELECT no_such_column FROM {users}'))).rejects.toThrow()
      expect((await db.tx(probe, { readCommitted: true }))?.level).toBe('READ-COMMITTED')
    })
  })
})

describe('openMysql when nothing listens', () => {
  test('a query rejects with DbUnavailable instead of hanging', async () => {
    const db = openMysql('mysql://root@127.0.0.1:1/test', newNamespace(), 2)
    try {
      await expect(db.get('SELECT 1')).rejects.toBeInstanceOf(DbUnavailable)
      await expect(db.tx((t) => t.get('SELECT 1'))).rejects.toBeInstanceOf(DbUnavailable)
    } finally { await db.close() }
  }, 15_000)
})

describe('Coalescer (point reads sharing statements while the database is busy)', () => {
  /** A fetch whose statements the test finishes by hand: each call is recorded with its keys. */
  function controlled() {
    const calls: { keys: string[]; finish(rows?: Record<string, string>): void; fail(e: unknown): void }[] = []
    const fetch = (keys: string[]) => new Promise<Map<string, string>>((resolve, reject) => {
      calls.push({
        keys,
        finish: (rows) => resolve(new Map(Object.entries(rows ?? Object.fromEntries(keys.map((k) => [k, `row-${k}`]))))),
        fail: reject,
      })
    })
    return { calls, fetch }
  }
  const tick = () => new Promise((r) => setTimeout(r, 0))

  test('an idle reader sends each read at once, alone', async () => {
    const { calls, fetch } = controlled()
    const c = new Coalescer(fetch, { maxInFlight: 2, maxBatch: 64, stuckMs: 60_000 })
    const a = c.get('a')
    const b = c.get('b')
    expect(calls.map((x) => x.keys)).toEqual([['a'], ['b']])
    calls[0]?.finish()
    calls[1]?.finish()
    expect(await a).toBe('row-a')
    expect(await b).toBe('row-b')
  })

  test('reads asked while maxInFlight statements run wait, then leave together in one statement; a repeated key is read once', async () => {
    const { calls, fetch } = controlled()
    const c = new Coalescer(fetch, { maxInFlight: 1, maxBatch: 64, stuckMs: 60_000 })
    const first = c.get('a')
    const waiting = [c.get('b'), c.get('c'), c.get('b'), c.get('a')]
    expect(calls).toHaveLength(1)
    calls[0]?.finish()
    expect(await first).toBe('row-a')
    await tick()
    expect(calls.map((x) => x.keys)).toEqual([['a'], ['b', 'c', 'a']])
    calls[1]?.finish()
    expect(await Promise.all(waiting)).toEqual(['row-b', 'row-c', 'row-b', 'row-a'])
  })

  test('a read is never attached to a statement already sent: the same key asked again goes in the next one', async () => {
    const { calls, fetch } = controlled()
    const c = new Coalescer(fetch, { maxInFlight: 1, maxBatch: 64, stuckMs: 60_000 })
    const early = c.get('a')
    const late = c.get('a') // asked after the first statement left: it may not see a row read before it was asked
    expect(calls.map((x) => x.keys)).toEqual([['a']])
    calls[0]?.finish({ a: 'old' })
    expect(await early).toBe('old')
    await tick()
    expect(calls.map((x) => x.keys)).toEqual([['a'], ['a']])
    calls[1]?.finish({ a: 'new' })
    expect(await late).toBe('new')
  })

  test('a key without a row reads null; a failed statement fails its own reads only, and the queue goes on', async () => {
    const { calls, fetch } = controlled()
    const c = new Coalescer(fetch, { maxInFlight: 1, maxBatch: 64, stuckMs: 60_000 })
    const gone = c.get('gone')
    const failed = [c.get('x'), c.get('y')].map((p) => p.then(() => 'resolved', (e: unknown) => e))
    calls[0]?.finish({})
    expect(await gone).toBeNull()
    await tick()
    const after = c.get('z')
    calls[1]?.fail(new DbUnavailable('lost'))
    for (const outcome of await Promise.all(failed)) expect(outcome).toBeInstanceOf(DbUnavailable)
    await tick()
    expect(calls.map((x) => x.keys)).toEqual([['gone'], ['x', 'y'], ['z']])
    calls[2]?.finish()
    expect(await after).toBe('row-z')
  })

  test('at most maxBatch keys per statement; the rest go in the next free slots, oldest first', async () => {
    const { calls, fetch } = controlled()
    const c = new Coalescer(fetch, { maxInFlight: 1, maxBatch: 3, stuckMs: 60_000 })
    const all = [c.get('k0'), ...Array.from({ length: 7 }, (_, i) => c.get(`k${i + 1}`))]
    calls[0]?.finish()
    await tick()
    calls[1]?.finish()
    await tick()
    calls[2]?.finish()
    await tick()
    calls[3]?.finish()
    expect(calls.map((x) => x.keys)).toEqual([['k0'], ['k1', 'k2', 'k3'], ['k4', 'k5', 'k6'], ['k7']])
    expect(await Promise.all(all)).toEqual(Array.from({ length: 8 }, (_, i) => `row-k${i}`))
  })

  test('a shared statement runs in the async context of its oldest read (its trace span belongs to that request)', async () => {
    const als = new AsyncLocalStorage<string>()
    const seen: (string | undefined)[] = []
    let release = () => {}
    const gate = new Promise<void>((r) => { release = r })
    const c = new Coalescer(async (keys) => {
      seen.push(als.getStore())
      if (seen.length === 1) await gate
      return new Map(keys.map((k) => [k, k]))
    }, { maxInFlight: 1, maxBatch: 64, stuckMs: 60_000 })
    const first = als.run('request-1', () => c.get('a'))
    const second = als.run('request-2', () => c.get('b'))
    const third = als.run('request-3', () => c.get('c'))
    release()
    expect(await Promise.all([first, second, third])).toEqual(['a', 'b', 'c'])
    expect(seen).toEqual(['request-1', 'request-2'])
  })

  test('a statement running past stuckMs gives its slot up: the reads behind it go out without waiting for it', async () => {
    const { calls, fetch } = controlled()
    const c = new Coalescer(fetch, { maxInFlight: 1, maxBatch: 64, stuckMs: 50 })
    const hung = c.get('hung')
    const behind = [c.get('a'), c.get('b')]
    expect(calls).toHaveLength(1)
    await Bun.sleep(80) // no read arrives and nothing ends: the timer sends them
    expect(calls.map((x) => x.keys)).toEqual([['hung'], ['a', 'b']])
    calls[1]?.finish()
    expect(await Promise.all(behind)).toEqual(['row-a', 'row-b'])
    calls[0]?.finish()
    expect(await hung).toBe('row-hung')
  })
})
