// Observing the database without touching the adapters: wrapDb(db, around) calls `around` for every statement
// and every transaction, so metrics (statements in flight) and tracing (a child span per statement) plug in here.
import type { Db, Param } from './types.ts'

export type Around = <T>(kind: 'query' | 'tx', sql: string, run: () => Promise<T>) => Promise<T>

export function wrapDb(db: Db, around: Around): Db {
  const wrapped = (inner: Db): Db => ({
    dialect: inner.dialect,
    all: (sql, p, o) => around('query', sql, () => inner.all(sql, p, o)),
    get: (sql, p) => around('query', sql, () => inner.get(sql, p)),
    run: (sql, p) => around('query', sql, () => inner.run(sql, p)),
    later: (sql, p) => around('query', sql, () => inner.later(sql, p)),
    soon: <R>(sql: string, p?: Param[]) => {
      // the promise `around` derives must not surface on its own either when nobody awaits it (Db.soon)
      const rows = around('query', sql, () => inner.soon<R>(sql, p))
      rows.catch(() => {})
      return rows
    },
    tx: (fn, o) => around('tx', 'BEGIN', () => inner.tx((t) => fn(wrapped(t)), o)),
    afterCommit: inner.afterCommit,
    notices: inner.notices,
    close: () => inner.close(),
  })
  return wrapped(db)
}
