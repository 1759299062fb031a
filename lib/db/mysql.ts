// mysql2/promise adapter. pool.query() (client-side escaping) rather than execute(): execute sends JS numbers
// as DOUBLE, which MySQL >= 8.0.22 rejects in LIMIT ? (sidorares/node-mysql2#1239). dateStrings keeps DATETIME
// values as the same strings SQLite returns. CLIENT_FOUND_ROWS (mysql2's default) makes affectedRows count
// matched rows, like SQLite's changes.
import mysql, { type Pool, type PoolConnection, type ResultSetHeader } from 'mysql2/promise'
import { type Db, DbUnavailable, type Param, sqlRewriter, UniqueViolation } from './index.ts'

export interface MysqlTarget { host: string; port: number; user: string; password: string; database: string; socketPath?: string }

/** Accepts go-sql-driver DSNs (`user:pass@tcp(host:3306)/db?parseTime=true`, `root@localhost/gotrue`,
 *  optionally prefixed by `mysql://`) and `mysql://user:pass@host:port/db` URLs. */
export function parseMysqlDsn(dsn: string): MysqlTarget {
  const s = dsn.replace(/^mysql:\/\//, '').split('?')[0] ?? ''
  const slash = s.lastIndexOf('/') // the password or the address may contain '/' (go-sql-driver rule)
  if (slash < 0) throw new Error('expected a database name after "/"')
  const database = decodeURIComponent(s.slice(slash + 1))
  if (!database) throw new Error('expected a database name after "/"')
  const at = s.lastIndexOf('@', slash)
  const cred = at >= 0 ? s.slice(0, at) : ''
  const addrPart = s.slice(at + 1, slash)
  const colon = cred.indexOf(':')
  const user = decodeURIComponent(colon >= 0 ? cred.slice(0, colon) : cred) || 'root'
  const password = colon >= 0 ? decodeURIComponent(cred.slice(colon + 1)) : ''
  const m = /^(?:(tcp|unix)\((.*)\)|(.*))$/.exec(addrPart)
  const net = m?.[1], inner = m?.[2] ?? m?.[3] ?? ''
  if (net === 'unix') return { host: 'localhost', port: 3306, user, password, database, socketPath: inner }
  const hp = /^(.*?)(?::(\d+))?$/.exec(inner || '127.0.0.1:3306')
  return { host: hp?.[1] || '127.0.0.1', port: Number(hp?.[2] ?? 3306), user, password, database }
}

export function openMysql(dsn: string, namespace = '', poolSize = 10): Db {
  const target = parseMysqlDsn(dsn)
  const pool: Pool = mysql.createPool({
    ...target, connectionLimit: poolSize, dateStrings: true, timezone: 'Z', charset: 'utf8mb4',
    supportBigNumbers: true, enableKeepAlive: true, connectTimeout: 5000,
  })
  const rewrite = sqlRewriter(namespace, 'mysql')
  const fail = (e: unknown): never => {
    const err = e as { code?: string; message?: string }
    if (err.code === 'ER_DUP_ENTRY') throw new UniqueViolation(err.message ?? 'duplicate')
    if (['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'POOL_CLOSED'].includes(err.code ?? ''))
      throw new DbUnavailable(err.message ?? String(err.code))
    throw e
  }
  const over = (c: Pool | PoolConnection, inTx: boolean): Db => {
    const query = async (sql: string, p: Param[] = []) => {
      try { return (await c.query(rewrite(sql), p))[0] } catch (e) { return fail(e) }
    }
    const self: Db = {
      dialect: 'mysql',
      all: async (sql, p) => (await query(sql, p)) as never,
      get: async (sql, p) => ((await query(sql, p)) as never[])[0] ?? null,
      run: async (sql, p) => ({ changes: ((await query(sql, p)) as ResultSetHeader).affectedRows }),
      tx: inTx ? (fn) => fn(self) : async (fn) => {
        // InnoDB resolves lock cycles by aborting one transaction (ER_LOCK_DEADLOCK); the documented remedy is to
        // run it again. Our transactions hold no network calls, so a retry repeats only database work.
        for (let attempt = 1; ; attempt++) {
          let conn: PoolConnection
          try { conn = await pool.getConnection() } catch (e) { return fail(e) }
          try {
            await conn.beginTransaction()
            const result = await fn(over(conn, true))
            await conn.commit()
            return result
          } catch (e) {
            await conn.rollback().catch(() => {})
            const code = (e as { code?: string }).code
            if (attempt < 8 && (code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT')) {
              await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt))
              continue
            }
            throw e
          } finally { conn.release() }
        }
      },
      close: async () => { if (!inTx) await pool.end() },
    }
    return self
  }
  return over(pool, false)
}

