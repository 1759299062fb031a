// The storage contract every feature uses: five async methods and a dialect tag. Statements are written once
// for both drivers with `?` placeholders and `{table}` names; the adapter substitutes the namespaced table name
// (GOTRUE_DB_NAMESPACE) and caches the rewritten text, so the hot path pays one Map lookup.
import type { Config } from '../config.ts'

export type Dialect = 'sqlite' | 'mysql'
export type Param = string | number | null
export type Row = Record<string, unknown>

export interface Db {
  readonly dialect: Dialect
  all<R = Row>(sql: string, params?: Param[]): Promise<R[]>
  get<R = Row>(sql: string, params?: Param[]): Promise<R | null>
  run(sql: string, params?: Param[]): Promise<{ changes: number }>
  /** Runs fn in one transaction: commit when it resolves, roll back when it throws. */
  tx<T>(fn: (db: Db) => Promise<T>): Promise<T>
  close(): Promise<void>
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

/** App-written UTC time in the one format both drivers store and return: `YYYY-MM-DD HH:MM:SS.mmm`. */
export function dbTime(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 23)
}
/** Stored time → RFC 3339 (`2026-01-01T10:00:00.123Z`); null stays null. */
export function isoTime(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null
  // the stored form, `YYYY-MM-DD HH:MM:SS.mmm` (what both drivers hand back): no regex on the hot path
  if (typeof v === 'string' && v.length === 23 && v.charCodeAt(10) === 32) return `${v.slice(0, 10)}T${v.slice(11)}Z`
  if (v instanceof Date) return v.toISOString()
  const s = String(v)
  return `${s.replace(' ', 'T')}${s.includes('.') ? '' : '.000'}Z`.replace(/(\.\d{3})\d*Z$/, '$1Z')
}
export function parseTime(v: unknown): number | null {
  const iso = isoTime(v)
  return iso === null ? null : Date.parse(iso)
}

export async function openDb(config: Config): Promise<Db> {
  if (config.db.driver === 'mysql') {
    const { openMysql } = await import('./mysql.ts')
    return openMysql(config.db.url, config.db.namespace, config.db.pool_size, config.db.query_timeout * 1000)
  }
  const { openSqlite } = await import('./sqlite.ts')
  return openSqlite(config.db.url, config.db.namespace, config.db.sqlite_mmap_mb)
}
