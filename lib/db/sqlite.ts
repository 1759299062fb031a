// bun:sqlite adapter. One connection in WAL mode. bun's db.transaction() is synchronous (an async callback
// would commit at its first await, oven-sh/bun#24662), so tx() takes an in-process async lock and issues
// BEGIN IMMEDIATE / COMMIT / ROLLBACK itself. Statements outside a transaction run at once when the lock is
// free and wait for it otherwise, so no request's statement ever lands inside another request's transaction.
import { Database, type SQLQueryBindings } from 'bun:sqlite'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { commitQueue, type Db, NO_NOTICES, type Param, runNow, sqlRewriter, UniqueViolation } from './types.ts'

export function openSqlite(path: string, namespace = '', mmapMb = 0): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
  const raw = new Database(path, { create: true, strict: true })
  raw.run('PRAGMA busy_timeout = 5000') // first: switching to WAL itself waits for other processes' locks
  // Several processes opening a new file at once: changing the journal mode can report "database is locked"
  // without consulting the busy handler, so retry it for a while.
  for (let attempt = 0; ; attempt++) {
    try { raw.run('PRAGMA journal_mode = WAL'); break } catch (e) {
      if (attempt >= 50 || !(e instanceof Error && /locked|busy/i.test(e.message))) throw e
      Bun.sleepSync(100)
    }
  }
  raw.run('PRAGMA synchronous = NORMAL')
  raw.run('PRAGMA foreign_keys = ON')
  // Memory-mapped reads: a refresh grant looks its token up by a random hash, so in a database of a
  // million users nearly every lookup missed SQLite's 2 MB page cache and became a read() of the file; mapped, it
  // is a memory access. SQLite maps at most this much of the file (address space, not memory).
  if (mmapMb > 0) raw.run(`PRAGMA mmap_size = ${mmapMb * 1024 * 1024}`)
  const rewrite = sqlRewriter(namespace, 'sqlite')
  let locked = false
  const waiters: (() => void)[] = []
  const acquire = (): Promise<void> | undefined => {
    if (!locked) { locked = true; return undefined }
    return new Promise((resolve) => waiters.push(resolve))
  }
  const release = () => {
    const next = waiters.shift()
    if (next) next()
    else locked = false
  }
  const q = (sql: string) => raw.query(rewrite(sql))
  const wrap = <T>(f: () => T): T => {
    try { return f() } catch (e) {
      if (e instanceof Error && /UNIQUE constraint failed/.test(e.message)) throw new UniqueViolation(e.message)
      throw e
    }
  }
  const direct = {
    all: (sql: string, p: Param[] = []) => wrap(() => q(sql).all(...(p as SQLQueryBindings[]))),
    get: (sql: string, p: Param[] = []) => wrap(() => q(sql).get(...(p as SQLQueryBindings[])) ?? null),
    run: (sql: string, p: Param[] = []) => wrap(() => ({ changes: Number(q(sql).run(...(p as SQLQueryBindings[])).changes) })),
  }
  /** Outside a transaction: run now if the lock is free, else after the open transaction ends. */
  const locking = <T>(f: () => T): Promise<T> => {
    if (!locked) {
      try { return Promise.resolve(f()) } catch (e) { return Promise.reject(e) }
    }
    return (acquire() as Promise<void>).then(() => { try { return f() } finally { release() } })
  }
  /** soon()'s promise: its error reaches whoever awaits it, and surfaces nowhere else when nobody does. */
  const quiet = <T>(f: () => Promise<T>): Promise<T> => {
    const p = f()
    p.catch(() => {})
    return p
  }
  /** The handle of one transaction: its statements run directly (the lock is held), its afterCommit queue is its own. */
  const txHandle = (queue: ReturnType<typeof commitQueue>): Db => {
    const inTx: Db = {
      dialect: 'sqlite',
      all: async (sql, p) => direct.all(sql, p) as never,
      get: async (sql, p) => direct.get(sql, p) as never,
      run: async (sql, p) => direct.run(sql, p),
      later: async (sql, p) => { direct.run(sql, p) }, // no round trip to save: at once
      soon: (sql, p) => quiet(async () => direct.all(sql, p) as never),
      tx: (fn) => fn(inTx), // nested: already inside the one transaction
      afterCommit: queue.add,
      notices: NO_NOTICES,
      close: async () => {},
    }
    return inTx
  }
  return {
    dialect: 'sqlite',
    all: (sql, p) => locking(() => direct.all(sql, p)) as never,
    get: (sql, p) => locking(() => direct.get(sql, p)) as never,
    run: (sql, p) => locking(() => direct.run(sql, p)),
    later: (sql, p) => locking(() => { direct.run(sql, p) }),
    soon: (sql, p) => quiet(() => locking(() => direct.all(sql, p)) as never),
    afterCommit: runNow,
    notices: NO_NOTICES,
    async tx(fn) {
      const queue = commitQueue()
      let result: Awaited<ReturnType<typeof fn>>
      await acquire()
      try {
        raw.run('BEGIN IMMEDIATE')
        try {
          result = await fn(txHandle(queue))
          raw.run('COMMIT')
        } catch (e) {
          if (raw.inTransaction) raw.run('ROLLBACK')
          throw e // the queue of a rolled-back transaction is dropped
        }
      } finally { release() }
      queue.run() // committed, and the lock is free for the next transaction
      return result
    },
    async close() { raw.close() },
  }
}
