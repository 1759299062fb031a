// Opening the database (picking the adapter for the configured driver) and the row helpers every feature uses
// for times. The contract itself (Db, Param, the error classes) lives in types.ts, which the adapters import.
import { type Config, ConfigError, redactDsn } from '../config.ts'
import type { Db } from './types.ts'

export { type Db, DbUnavailable, type TxOptions, type Dialect, jsonText, NO_NOTICES, type NoticeEvent, type Notices, type Param, type Row, UniqueViolation, WriteConflict } from './types.ts'

/** App-written UTC time in the one format both drivers store: `YYYY-MM-DD HH:MM:SS.mmm`. Read back, it is the same,
 *  but for a whole second read through a MySQL prepared statement (`…:SS`, no `.000`): compare times as instants. */
export function dbTime(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 23)
}
/** Stored time → RFC 3339 (`2026-01-01T10:00:00.123Z`); null stays null. */
export function isoTime(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null
  // the stored form, `YYYY-MM-DD HH:MM:SS.mmm` (what both drivers hand back): no regex on the hot path
  if (typeof v === 'string' && v.charCodeAt(10) === 32) {
    if (v.length === 23) return `${v.slice(0, 10)}T${v.slice(11)}Z`
    if (v.length === 19) return `${v.slice(0, 10)}T${v.slice(11)}.000Z` // MySQL's binary protocol drops a zero fraction
  }
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
    const { mysqlTargets, openMysql, parseMysqlDsn } = await import('./mysql.ts')
    // A bad or unreachable DATABASE_URL is found here, with a message naming the variable and the host (never
    // the password), rather than as a bare `connect ECONNREFUSED` from the first statement. With several hosts
    // (a Galera cluster), the first that answers is used and boot fails only when none does.
    let where = ''
    try {
      where = mysqlTargets(config.db.url).map((t) => (t.socketPath ? `socket ${t.socketPath}` : `${t.host}:${t.port}`)).join(', ')
    } catch (e) {
      throw new ConfigError(`DATABASE_URL: ${e instanceof Error ? e.message : String(e)} (${redactDsn(config.db.url)})`)
    }
    const db = openMysql(config.db.url, config.db.namespace, config.db.pool_size, config.db.query_timeout * 1000, { checkAlways: config.db.check_every_commit })
    try {
      await db.get('SELECT 1')
    } catch (e) {
      await db.close().catch(() => {})
      const err = e as { cause?: { message?: string }; message?: string }
      const reason = (err.cause?.message ?? err.message ?? String(e)).replaceAll(parseMysqlDsn(config.db.url).password || '\u0000', '****')
      throw new ConfigError(`DATABASE_URL: cannot connect to MySQL at ${where}: ${reason}`)
    }
    return db
  }
  const { openSqlite } = await import('./sqlite.ts')
  return openSqlite(config.db.url, config.db.namespace, config.db.sqlite_mmap_mb)
}
