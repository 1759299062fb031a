// The storage contract every feature uses: five async methods and a dialect tag. Statements are written once
// for both drivers with `?` placeholders and `{table}` names; the adapter substitutes the namespaced table name
// (GOTRUE_DB_NAMESPACE) and caches the rewritten text, so the hot path pays one Map lookup.
// The adapters import this file and index.ts imports the adapters, so neither imports the other back.

import type { NOTICE_EVENTS } from '../config-schema.ts'

export type Dialect = 'sqlite' | 'mysql'
export type Param = string | number | null
export type Row = Record<string, unknown>

/** `text`: on MySQL, send the statement as a plain query (text protocol) rather than as a prepared statement (binary
 *  protocol). For reads returning many wide rows: the binary protocol's per-row decoding (a DATETIME is rebuilt
 *  into a string field by field) then costs more than the server's parse of the statement. Ignored by SQLite. */
export interface ReadOptions { text?: boolean }

/** `readCommitted`: on MySQL the transaction runs READ COMMITTED instead of InnoDB's REPEATABLE READ. Its plain
 *  reads then each see what committed before them, not one snapshot taken at the first, and a locking read by a
 *  unique secondary key locks that row only, not the index gap before it too (where concurrent inserts of
 *  neighbouring keys otherwise deadlock). Only for a transaction whose decisions rest on locking reads and checked
 *  writes, never on two plain reads agreeing with each other. Ignored by SQLite (one writer at a time). */
export interface TxOptions { readCommitted?: boolean }

export interface Db {
  readonly dialect: Dialect
  all<R = Row>(sql: string, params?: Param[], options?: ReadOptions): Promise<R[]>
  get<R = Row>(sql: string, params?: Param[]): Promise<R | null>
  run(sql: string, params?: Param[]): Promise<{ changes: number }>
  /** A write whose outcome the caller does not read (an audit row, a spent or a new refresh token). On MySQL inside
   *  a transaction it is queued and travels with the transaction's next statement, or with its COMMIT, in one
   *  round trip; elsewhere it runs at once. Queued, its error is thrown by that next statement or by tx(), so it is
   *  never for a write whose failure the caller handles itself (a UniqueViolation it maps to an answer). */
  later(sql: string, params?: Param[]): Promise<void>
  /** A read that travels with the next statement the transaction issues before it yields (on MySQL inside a
   *  transaction: one command, run in order, so one round trip for a locking read and the read that must follow
   *  it); alone when nothing follows it at once; elsewhere it runs at once. Its rows arrive when that command
   *  answers, and its error is the command's. */
  soon<R = Row>(sql: string, params?: Param[]): Promise<R[]>
  /** Runs fn in one transaction: commit when it resolves, roll back when it throws. fn may run more than once (on
   *  MySQL a conflict reruns it whole), so it holds database work only. No DDL or COMMIT: on MySQL they end the
   *  transaction (the adapter refuses them inside one, lib/db/mysql.ts). */
  tx<T>(fn: (db: Db) => Promise<T>, options?: TxOptions): Promise<T>
  /** Runs fn once the enclosing transaction has committed: never when it rolls back, and once when a retried
   *  transaction finally commits (each attempt starts with an empty queue). Outside a transaction (the statement
   *  already committed) fn runs at once. fn runs after the transaction's lock or connection is released, so it may
   *  start network calls; it must not throw (a throw is swallowed, the commit stands). */
  afterCommit(fn: () => void): void
  /** Notification events (session and factor changes) queued on this handle and sent once it commits. The adapters'
   *  own handles send nothing (NO_NOTICES); lib/notices.ts gives the app's handles the instance's webhooks. */
  readonly notices: Notices
  close(): Promise<void>
}

export type NoticeEvent = (typeof NOTICE_EVENTS)[number]
export interface Notices {
  /** A Set lookup: callers skip any extra work (such as listing the sessions a bulk update ends) when false. */
  wants(event: NoticeEvent): boolean
  /** `user` is the user's row as the transaction sees it; `id` the session's or factor's; `detail` a session's end
   *  reason or a factor's type. Nothing is built unless the event is wanted. */
  notify(event: NoticeEvent, user: object, id: string, detail?: string): void
}
export const NO_NOTICES: Notices = { wants: () => false, notify() {} }

/** The queue behind afterCommit, for the adapters: one per transaction attempt. */
export function commitQueue(): { add(fn: () => void): void; run(): void } {
  let fns: (() => void)[] | null = null
  return {
    add(fn) { (fns ??= []).push(fn) },
    run() {
      if (!fns) return
      for (const fn of fns) { try { fn() } catch { /* the commit stands; fn logs its own failures */ } }
      fns = null
    },
  }
}
/** afterCommit outside a transaction: the write has committed, run at once. */
export function runNow(fn: () => void): void {
  try { fn() } catch { /* as commitQueue */ }
}

/** Thrown by the adapters for a duplicate key, so callers can map it without knowing the driver. */
export class UniqueViolation extends Error {}
/** Thrown by the adapters when the database cannot be reached (connection refused, pool closed). */
export class DbUnavailable extends Error {}

/** `{users}` → `ns_users`; on SQLite `FOR UPDATE` is dropped (BEGIN IMMEDIATE already serialises writers). */
export function sqlRewriter(namespace: string, dialect: Dialect): (sql: string) => string {
  const prefix = namespace ? `${namespace}_` : ''
  const cache = new Map<string, string>()
  return (sql) => {
    let out = cache.get(sql)
    if (out === undefined) {
      out = sql.replace(/\{([a-z_]+)\}/g, (_, t: string) => prefix + t)
      if (dialect === 'sqlite') out = out.replace(/\s+FOR UPDATE\b/g, '')
      cache.set(sql, out)
    }
    return out
  }
}

const COLUMN = /^[a-z_][a-z0-9_.]*$/
const JSON_PATH = /^\$(?:\.[a-z_][a-z0-9_]*)+$/

/** A field of a JSON text column as plain text, for comparing in SQL: SQLite's JSON_EXTRACT returns the value,
 *  MySQL's returns JSON (quoted, `\"` escaped) and needs JSON_UNQUOTE. Column and path are spliced into the
 *  statement, so only code constants are accepted (identifiers and `$.a.b` paths). */
export function jsonText(dialect: Dialect, column: string, path: string): string {
  if (!COLUMN.test(column) || !JSON_PATH.test(path)) throw new Error(`jsonText: not a column/path constant: ${column} ${path}`)
  const extract = `JSON_EXTRACT(${column}, '${path}')`
  return dialect === 'mysql' ? `JSON_UNQUOTE(${extract})` : extract
}
/** A row this transaction read under a lock was gone when it came to spend it: on a multi-primary cluster (Galera)
 *  a row lock does not hold across nodes, and another node's write can be applied between the locking read and
 *  the write. The MySQL adapter runs the transaction again, as for a certification failure, and the rerun finds
 *  the row spent. (SQLite has one writer; it cannot happen there.) */
export class WriteConflict extends Error {}
