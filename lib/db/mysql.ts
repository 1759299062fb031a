// mysql2/promise adapter. Statements whose parameters are all strings or NULL (the hot lookups: a user by id, a
// token by hash) run as server-side prepared statements (execute(): prepared once per connection, then only the
// parameters travel, binary protocol); the rest use query() (client-side escaping), because execute sends JS
// numbers as DOUBLE, which MySQL >= 8.0.22 rejects in LIMIT ? (sidorares/node-mysql2#1239). Measured on GET /user:
// execute() and `trace: false` (no stack captured per statement) cut mysql2's CPU per lookup by about a third.
// A read asked for with `{ text: true }` (ReadOptions) goes as query() whatever its parameters: GET /user's batched
// read returns up to 64 wide rows, and decoding their binary DATETIMEs cost our server more than the text protocol.
// dateStrings keeps DATETIME values as the same strings SQLite returns. CLIENT_FOUND_ROWS (mysql2's default) makes
// affectedRows count matched rows, like SQLite's changes.
import mysql, { type Pool, type PoolConnection, type ResultSetHeader } from 'mysql2/promise'
import { commitQueue, type Db, DbUnavailable, NO_NOTICES, type Param, runNow, sqlRewriter, UniqueViolation, WriteConflict } from './types.ts'

export interface MysqlTarget { host: string; port: number; user: string; password: string; database: string; socketPath?: string }

/** Accepts go-sql-driver DSNs (`user:pass@tcp(host:3306)/db?parseTime=true`, `root@localhost/gotrue`,
 *  optionally prefixed by `mysql://`) and `mysql://user:pass@host:port/db` URLs. With several hosts
 *  (`mysql://u@h1:3307,h2:3308/db`, or `tcp(h1:3307,h2:3308)`), this is the first; mysqlTargets lists them all. */
export function parseMysqlDsn(dsn: string): MysqlTarget {
  return mysqlTargets(dsn)[0] as MysqlTarget
}

/** Every host of a DSN, in the order given: the nodes of a multi-primary cluster (Galera) to fail over across. */
export function mysqlTargets(dsn: string): MysqlTarget[] {
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
  if (net === 'unix') return [{ host: 'localhost', port: 3306, user, password, database, socketPath: inner }]
  return (inner || '127.0.0.1:3306').split(',').map((a) => {
    const hp = /^(.*?)(?::(\d+))?$/.exec(a.trim())
    return { host: hp?.[1] || '127.0.0.1', port: Number(hp?.[2] ?? 3306), user, password, database }
  })
}

/** Errors that mean "no usable connection" rather than "this statement failed": the network codes, the pool
 *  being closed, the server refusing or going away, and anything mysql2 marks fatal (the connection is dead,
 *  e.g. "Can't add new command when connection is in closed state", which has no code). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'POOL_CLOSED', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED',
  // A Galera node outside the primary component (partitioned, or still joining) refuses every statement with
  // 1047 "WSREP has not yet prepared node for application use": for us it is as gone as a closed socket.
  'ER_UNKNOWN_COM_ERROR',
  // …and a COMMIT on a node that lost the primary component meanwhile fails with 1180 ("Not connected to Primary
  // Component"): the write-set was not replicated, the transaction is rolled back.
  'ER_ERROR_DURING_COMMIT',
])
function lostConnection(e: unknown): boolean {
  const err = e as { code?: string; fatal?: boolean; message?: string } | null
  return !!err && (CONNECTION_CODES.has(err.code ?? '') || err.fatal === true || err.message === 'Pool is closed.')
}

/** Transactions (and autocommit statements) aborted for a conflict, which the server expects to be run again: an
 *  InnoDB lock cycle or wait timeout, and on Galera a certification failure, which a multi-primary cluster
 *  reports as ER_LOCK_DEADLOCK at COMMIT (or on any statement of a transaction a replicated write aborted). */
const RETRYABLE = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT',
  // MariaDB 11.6.2 and later (innodb_snapshot_isolation on by default): a REPEATABLE READ transaction that locks or
  // writes a row changed since its snapshot fails with 1020 "Record has changed since last read" instead of acting
  // on newer data; it is rolled back and run again like a deadlock victim. (Not reproducible on the 10.11 here.)
  'ER_CHECKREAD'])
const MAX_ATTEMPTS = 10
/** Full jitter over an exponential ceiling (10, 20, 40 … 320 ms): conflicting writers spread apart instead of
 *  meeting again, and the whole budget stays near a second and a half. */
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(320, 5 * 2 ** attempt)))
const conflict = (e: unknown) => e instanceof WriteConflict || RETRYABLE.has((e as { code?: string } | null)?.code ?? '')
/** What a client sees when the retries ran out: a 503 with Retry-After (try again), never a 500. */
const busy = (e: unknown) => new DbUnavailable(`conflicting writes: gave up after ${MAX_ATTEMPTS} attempts (${(e as Error).message})`)

type Use = 'statement' | 'tx'
const USES: Use[] = ['statement', 'tx']
/** A statement queued for a transaction's next command: a write nobody reads back (later()), or a read whose rows
 *  are handed over when that command answers (soon()). */
interface Queued { sql: string; rows?: { resolve(rows: unknown): void; reject(e: unknown): void } }
/** One attempt of a transaction: what runs after its commit, whether it sent anything but reads (then its
 *  savepoint is checked before COMMIT, on Galera), the statements later() and soon() queued that have not been sent
 *  yet, and the error of a statement that rolled the whole transaction back (a deadlock victim), should its handler
 *  swallow it. */
interface TxState { pending: ReturnType<typeof commitQueue>; wrote: boolean; queued: Queued[]; aborted: unknown; inflight: Set<Promise<unknown>> }
interface VariableRow { Variable_name: string; Value: string | null }
/** What setUp learnt of a transaction connection's session, and the isolation level it is in now. */
interface Session {
  /** A Galera node (wsrep_on, or a provider loaded): a transaction may be rolled back under it without an error,
   *  so it begins with a savepoint that COMMIT checks (see `tx`). */
  galera: boolean
  /** Whether the server accepts writes under READ COMMITTED: not when it logs binary statements
   *  (log_bin with binlog_format=STATEMENT); there the refresh grant runs at `level` too. */
  readCommittedOk: boolean
  /** The level of every transaction not asked to read committed (as SET TRANSACTION spells it): REPEATABLE READ,
   *  or SERIALIZABLE when that is the server's. Never a weaker one a server or an init_connect may default to: the
   *  code relies on one snapshot per transaction (a sign-in reading its identity link and the user by email). */
  level: string
  /** The session's level now; null while unknown (not read, or a command that switched it failed). */
  now: string | null
}
/** Keyed by mysql2's connection: the pool hands out a new wrapper each time; a connection the pool replaces is a
 *  new key, set up again. */
const sessions = new WeakMap<object, Session>()
const SAVEPOINT = 'gotrue_tx'
const LEVELS = new Set(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'])
/** mysql2 escapes query() parameters with backslashes in utf8mb4, and does not ask the server how it parses them:
 *  under NO_BACKSLASH_ESCAPES `\'` ends a string, and in a multibyte charset such as GBK a backslash can be
 *  swallowed into the character before it (an init_connect or a proxy may set either); then a parameter could end
 *  the statement. Every session sets both before its first statement (the transaction pool's connections accept
 *  several statements in one command, see `tx`). */
const SAFE_ESCAPES = "SET NAMES utf8mb4, SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))"
const READ = /^\s*SELECT\b/i
/** Statements that end a MySQL transaction by themselves (implicit commit) or begin another: never part of one. */
const ENDS_TRANSACTION = /^\s*(?:CREATE|ALTER|DROP|TRUNCATE|RENAME|LOCK|UNLOCK|BEGIN|START|COMMIT|ROLLBACK|XA|SET\s+(?:SESSION\s+|@@)?autocommit)\b/i
/** A statement of a transaction, before it is sent or queued. */
function admit(tx: TxState, sql: string): void {
  if (ENDS_TRANSACTION.test(sql)) throw new Error(`not inside a transaction: ${sql.slice(0, 40)}`)
  if (!READ.test(sql)) tx.wrote = true // before it is sent: an unawaited write counts too
}
const LOST = 'the transaction ended under it without an error (on Galera: a write replicated from another node aborted it)'

/** Each new connection of `pool` sets SAFE_ESCAPES before its first statement (commands on a connection run in
 *  order, and the pool announces a connection before handing it out). One whose reply still says
 *  NO_BACKSLASH_ESCAPES (status flag 512 of the OK packet), or that cannot, is destroyed: its next statement fails
 *  as a lost connection. */
export function withSafeEscapes(pool: Pool): Pool {
  pool.on('connection', (conn) => {
    const core = conn as unknown as { query(sql: string, cb: (e: unknown, r?: { serverStatus?: number }) => void): void; destroy(): void }
    core.query(SAFE_ESCAPES, (e, r) => { if (e || ((r?.serverStatus ?? 0) & 512)) core.destroy() })
  })
  return pool
}

/** checkAlways: every transaction begins with the savepoint COMMIT checks, not only on a server that says it is
 *  a Galera node (for a server behind something that hides wsrep_on; the tests use it to reach that path on a
 *  single server). */
export interface MysqlOptions { checkAlways?: boolean }

export function openMysql(dsn: string, namespace = '', poolSize = 10, statementTimeoutMs = 0, { checkAlways = false }: MysqlOptions = {}): Db {
  const targets = mysqlTargets(dsn)
  // Two pools per node: one for single statements (autocommit) and one for transactions, whose connections run
  // with autocommit off (see `tx` below). Each is lazy and holds at most `poolSize` connections.
  const pools: Record<Use, (Pool | undefined)[]> = { statement: [], tx: [] }
  const poolFor = (i: number, use: Use): Pool => (pools[use][i] ??= withSafeEscapes(mysql.createPool({
    ...targets[i] as MysqlTarget, connectionLimit: poolSize, dateStrings: true, timezone: 'Z', charset: 'utf8mb4',
    supportBigNumbers: true, enableKeepAlive: true, trace: false,
    // A transaction's queued writes and its COMMIT travel as one command (see `tx`); single statements never do.
    multipleStatements: use === 'tx',
    // Prepared statements held per connection: the steady state uses a few dozen; a small LRU keeps nodes × 2 pools
    // × pool size × this well under MySQL's server-wide max_prepared_stmt_count (16,382 by default).
    maxPreparedStatements: 128,
    // No COM_RESET_CONNECTION on release (mysql2's default, said here because it matters): a reset would turn
    // autocommit back on in the transaction pool's sessions, which are switched off once (see `tx`).
    resetOnRelease: false,
    connectTimeout: statementTimeoutMs ? Math.min(Math.max(statementTimeoutMs, 1000), 5000) : 5000,
  })))
  /** The node in use; with several hosts, the next one takes over when it stops answering (sticky: no fail-back
   *  while it works, so one client's reads follow its writes on one node). */
  let current = 0
  /** Several hosts: a lost connection on node `i` moves to the next node, and `i`'s pool (its other connections
   *  are likely dead too) is closed rather than handed out again. One host: only that connection goes. */
  const lost = (i: number) => {
    if (targets.length < 2 || i !== current) return
    current = (i + 1) % targets.length
    for (const use of USES) {
      const old = pools[use][i]
      pools[use][i] = undefined
      void old?.end().catch(() => {})
    }
  }
  /** A connection from the current node, else from the next ones in order, once round. Nothing has been sent
   *  yet, so trying another node is always safe. */
  const acquire = async (use: Use): Promise<[PoolConnection, number]> => {
    let last: unknown
    const first = current // lost() moves `current` on: count from where this call began
    for (let k = 0; k < targets.length; k++) {
      const i = (first + k) % targets.length
      try {
        const conn = await poolFor(i, use).getConnection()
        current = i
        return [conn, i]
      } catch (e) {
        last = e
        if (!lostConnection(e)) break
        lost(i)
      }
    }
    throw last
  }
  const rewrite = sqlRewriter(namespace, 'mysql')
  const fail = (e: unknown): never => {
    const err = e as { code?: string; message?: string }
    if (err.code === 'ER_DUP_ENTRY') throw new UniqueViolation(err.message ?? 'duplicate')
    if (lostConnection(e)) throw new DbUnavailable(err.message ?? String(err.code))
    throw e
  }
  /** A statement on one connection, bounded by GOTRUE_DB_QUERY_TIMEOUT: a network that stops answering without
   *  closing the socket would otherwise hang the request and, one by one, every pooled connection. On timeout the
   *  connection is destroyed (so nothing queues behind it) and the request gets a 503. */
  const send = (conn: PoolConnection, sql: string, p: Param[], text: boolean) =>
    !text && p.length && p.every((v) => typeof v === 'string' || v === null) ? conn.execute(sql, p) : conn.query(sql, p)
  const timed = async (conn: PoolConnection, sql: string, p: Param[], text = false) => {
    if (!statementTimeoutMs) return (await send(conn, sql, p, text))[0]
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        conn.destroy()
        reject(new DbUnavailable(`statement timed out after ${statementTimeoutMs} ms`))
      }, statementTimeoutMs)
    })
    try { return (await Promise.race([send(conn, sql, p, text), timeout]))[0] } finally { clearTimeout(timer) }
  }
  /** A transaction connection's session, once: autocommit off (see `tx`), and what its transactions need to know
   *  of the server (Session). SHOW VARIABLES, not @@names: MySQL and MariaDB name the level differently, and only
   *  a Galera build has wsrep_on. A node counts as Galera when wsrep_on is on for the session or globally, or a
   *  provider is loaded. */
  const setUp = async (conn: PoolConnection): Promise<Session> => {
    const [, mine, global] = (await timed(conn, 'SET SESSION autocommit = 0;\n' +
      "SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'tx_isolation', 'transaction_isolation', 'wsrep_on');\n" +
      "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_provider')", [], true)) as [unknown, VariableRow[], VariableRow[]]
    const v = (rows: VariableRow[], name: string) => String(rows.find((r) => String(r.Variable_name ?? '').toLowerCase() === name)?.Value ?? '').toUpperCase()
    const level = (v(mine, 'transaction_isolation') || v(mine, 'tx_isolation')).replace('-', ' ')
    const provider = v(global, 'wsrep_provider')
    return {
      galera: v(mine, 'wsrep_on') === 'ON' || v(global, 'wsrep_on') === 'ON' || !(provider === '' || provider === 'NONE'),
      readCommittedOk: !(v(mine, 'log_bin') === 'ON' && v(mine, 'binlog_format') === 'STATEMENT'),
      level: level === 'SERIALIZABLE' ? level : 'REPEATABLE READ',
      now: LEVELS.has(level) ? level : null,
    }
  }
  /** The writes `tx` queued, then `tail`, as one command (text protocol; the statements run in order and the first
   *  error stops the rest). The queue is emptied. Each statement was formatted with its own parameters: a count
   *  that does not match its placeholders cannot shift values into the next statement. */
  const drain = (tx: TxState, tail: string[]): { sql: string; taken: Queued[] } => {
    const taken = tx.queued
    tx.queued = []
    return { sql: [...taken.map((q) => q.sql), ...tail].join(';\n'), taken }
  }
  /** Hands each queued read of a command its rows (the command's answers come one per statement, in order), or
   *  the command's error. */
  const settle = (taken: Queued[], results: unknown[] | null, error?: unknown) => {
    taken.forEach((q, i) => { if (q.rows) error === undefined ? q.rows.resolve(results?.[i]) : q.rows.reject(error) })
  }
  const mapped = (e: unknown): unknown => { try { return fail(e) } catch (x) { return x } }
  const format = (conn: PoolConnection, sql: string, p: Param[]): string => conn.connection.format(rewrite(sql), p)
  const over = (c: PoolConnection | null, tx?: TxState): Db => {
    const query = tx
      ? (sql: string, p: Param[] = [], text = false) => {
          if (sql) admit(tx, sql) // '': only what is queued (soon())
          const running = (async () => {
            let taken: Queued[] = []
            try {
              if (!tx.queued.length && sql) return await timed(c as PoolConnection, rewrite(sql), p, text)
              const batch = drain(tx, sql ? [format(c as PoolConnection, sql, p)] : [])
              taken = batch.taken
              const count = taken.length + (sql ? 1 : 0)
              const answer = await timed(c as PoolConnection, batch.sql, [], true)
              const results = count === 1 ? [answer] : answer as unknown[] // one statement's answer is not a list
              settle(taken, results)
              return results[results.length - 1]
            } catch (e) {
              // InnoDB rolled the whole transaction back (a deadlock victim): a handler that caught this and went
              // on would write into a new transaction of its own. Kept, so that COMMIT is never sent for it (`tx`).
              if (conflict(e) || (e as { code?: string } | null)?.code === 'ER_LOCK_TABLE_FULL') tx.aborted ??= e
              const err = mapped(e)
              // a later() write went with a command nobody awaits (a soon() flushed alone): its error is tx()'s
              if (!sql && taken.some((q) => !q.rows)) tx.aborted ??= err
              settle(taken, null, err)
              throw err
            }
          })()
          // Counted until answered: a statement the handler did not await may still fail after it returns.
          tx.inflight.add(running)
          const done = () => { tx.inflight.delete(running) }
          running.then(done, done)
          return running
        }
      : async (sql: string, p: Param[] = [], text = false) => {
          // Not pool.query(): when a connection dies during a statement, mysql2 hands the error to that statement
          // only and pool.query then releases the dead connection into the pool, where every later statement on it
          // fails ("Can't add new command when connection is in closed state"). Destroy it instead.
          // A conflict aborting an autocommit statement (Galera certification, after the server's own
          // wsrep_retry_autocommit) rolled it back whole, so it is run again like a transaction.
          for (let attempt = 1; ; attempt++) {
            let conn: PoolConnection, node: number
            try { [conn, node] = await acquire('statement') } catch (e) { return fail(e) }
            let dead = false
            try { return await timed(conn, rewrite(sql), p, text) } catch (e) {
              dead = e instanceof DbUnavailable || lostConnection(e)
              if (dead) lost(node)
              else if (conflict(e)) {
                if (attempt >= MAX_ATTEMPTS) throw busy(e)
                await backoff(attempt)
                continue
              }
              return fail(e)
            } finally { if (dead) conn.destroy(); else conn.release() }
          }
        }
    const self: Db = {
      dialect: 'mysql',
      all: async (sql, p, o) => (await query(sql, p, o?.text)) as never,
      get: async (sql, p) => ((await query(sql, p)) as never[])[0] ?? null,
      run: async (sql, p) => ({ changes: ((await query(sql, p)) as ResultSetHeader).affectedRows }),
      later: tx
        ? async (sql, p = []) => { admit(tx, sql); tx.queued.push({ sql: format(c as PoolConnection, sql, p) }) }
        : async (sql, p) => { await query(sql, p) },
      soon: tx
        ? (sql, p = []) => {
            admit(tx, sql)
            const rows = new Promise<never>((resolve, reject) => {
              const entry: Queued = { sql: format(c as PoolConnection, sql, p), rows: { resolve: resolve as (v: unknown) => void, reject } }
              tx.queued.push(entry)
              // Nothing else issued before the handler yields: it goes alone (with whatever else is queued).
              queueMicrotask(() => { if (tx.queued.includes(entry)) query('').catch(() => {}) })
            })
            rows.catch(() => {}) // unawaited, its error must not surface on its own (see the command's catch above)
            return rows
          }
        : (sql, p) => { const rows = query(sql, p) as Promise<never>; rows.catch(() => {}); return rows },
      afterCommit: tx ? tx.pending.add : runNow,
      notices: NO_NOTICES,
      tx: tx ? (fn) => fn(self) : async (fn, options) => {
        // InnoDB resolves lock cycles by aborting one transaction (ER_LOCK_DEADLOCK), and Galera aborts the later
        // of two conflicting commits the same way; the documented remedy is to run it again. Our transactions
        // hold no network calls, so a retry repeats only database work.
        //
        // On Galera a write replicated from another node can also abort (roll back) a transaction while it runs a
        // read, and MariaDB (seen on 10.11) may then return the read's rows and never report the abort: with
        // autocommit on, the statements after it ran on their own, each committed as it went, and COMMIT succeeded
        // with nothing left to commit. A client got a 200 for a write that was gone, or half of one. So a
        // transaction's connection runs with autocommit off: whatever follows a silent rollback goes into a new
        // transaction of its own, which commits nothing by itself; and on a Galera node (Session.galera) a
        // transaction that wrote releases the savepoint it began with before COMMIT: gone with the rollback, it is
        // ER_SP_DOES_NOT_EXIST, and the attempt is rolled back and run again, as for any conflict. A single server
        // reports every rollback of its own to the statement it ends (a deadlock victim is always waiting in one),
        // so there the adapter keeps that error (TxState.aborted) and never sends COMMIT after it, should the
        // handler have caught it and gone on: two statements fewer per transaction, the same guarantee.
        //
        // Round trips: every statement is one, and on loopback the socket writes cost our server more CPU than
        // anything else in a refresh grant. So the SAVEPOINT goes with the transaction's first statement, and the
        // writes later() queued go with the next statement or with RELEASE SAVEPOINT and COMMIT, as one command:
        // the server runs its statements in order and stops at the first error, so a failed RELEASE means COMMIT
        // never ran. COMMIT always ends its command. On Galera a conflict reported inside a command can be
        // reported again to the next one: the ROLLBACK after it fails too. The connection is then destroyed
        // (closing the session rolls back whatever it held), and the attempt still runs again: its error was a
        // conflict, from a statement at or before COMMIT, so nothing of it committed.
        //
        // What no statement before COMMIT can rule out is an abort landing after the RELEASE: that commit is
        // empty. Sent in one command, it has no network round trip left to land in, only the step from one
        // statement to the next; that window is not shown closed.
        for (let attempt = 1; ; attempt++) {
          let conn: PoolConnection, node: number
          try { [conn, node] = await acquire('tx') } catch (e) { return fail(e) }
          let dead = false
          // A fresh queue per attempt: what an aborted attempt queued is dropped with it.
          const state: TxState = { pending: commitQueue(), wrote: false, queued: [], aborted: null, inflight: new Set() }
          let result: Awaited<ReturnType<typeof fn>>
          let switched: string | null = null
          try {
            let session = sessions.get(conn.connection)
            if (!session) sessions.set(conn.connection, session = await setUp(conn))
            // No transaction is open here (the last one ended with COMMIT or ROLLBACK). The session's level stays
            // as this transaction leaves it, so a run of refresh grants switches once, not once per grant; while
            // the command carrying the switch is unanswered the level counts as unknown.
            const want = !!options?.readCommitted && session.readCommittedOk
            if (session.now !== (want ? 'READ COMMITTED' : session.level)) {
              switched = want ? 'READ COMMITTED' : session.level
              state.queued.push({ sql: `SET SESSION TRANSACTION ISOLATION LEVEL ${switched}` })
              session.now = null
            }
            // Autocommit is off: the transaction this marks lasts until COMMIT or a rollback, and so does the mark.
            const marked = session.galera || checkAlways
            if (marked) state.queued.push({ sql: `SAVEPOINT ${SAVEPOINT}` })
            result = await fn(over(conn, state))
            if (state.inflight.size) await Promise.allSettled([...state.inflight])
            if (state.aborted) throw state.aborted // its handler went on after a rollback: never COMMIT what follows
            const end = drain(state, [...(marked && state.wrote ? [`RELEASE SAVEPOINT ${SAVEPOINT}`] : []), 'COMMIT'])
            await timed(conn, end.sql, [], true).then((answer) => settle(end.taken, answer as unknown[]), (e: unknown) => {
              settle(end.taken, null, mapped(e))
              throw (e as { code?: string }).code === 'ER_SP_DOES_NOT_EXIST' ? new WriteConflict(LOST) : e
            })
            if (switched) session.now = switched
          } catch (thrown) {
            // A rollback the handler swallowed decides, not what it threw afterwards: the attempt runs again.
            const e = state.aborted ?? thrown
            // what is still queued (a soon() whose microtask has not run) is never sent after the ROLLBACK
            settle(drain(state, []).taken, null, e)
            // A connection lost mid-transaction (BEGIN, a statement or COMMIT) is a 503, and the connection is
            // destroyed rather than handed back to the pool for the next request to trip over.
            dead = e instanceof DbUnavailable || lostConnection(e)
            if (dead) lost(node)
            // A connection whose ROLLBACK failed may still hold the transaction open, and the next transaction on
            // it would commit that half: it is destroyed, never handed back.
            else await timed(conn, 'ROLLBACK', [], true).catch(() => { dead = true })
            if (conflict(e)) { // never a lost connection: a failed ROLLBACK after it is the one case with `dead`
              if (attempt >= MAX_ATTEMPTS) throw busy(e)
              await backoff(attempt)
              continue
            }
            return fail(e)
          } finally { if (dead) conn.destroy(); else conn.release() }
          state.pending.run() // committed, and the connection is back in the pool
          return result
        }
      },
      close: async () => { if (!tx) await Promise.all(USES.flatMap((use) => pools[use].map((p) => p?.end()))) },
    }
    return self
  }
  return over(null)
}

