// Forward-only migrations: migrations/NNNN_name.<dialect>.sql, applied in numeric order and recorded in
// {schema_migrations}. On SQLite each file runs in one transaction (its DDL is transactional); MySQL commits
// DDL implicitly, so each statement runs on its own and files are kept small. Statements are split on `;`
// at line end, so no multi-statement mode is ever enabled on the pool.
// The bundled migrations are embedded (migrations/index.ts imports them as text), so a `bun build --compile`
// binary migrates without the folder; GOTRUE_DB_MIGRATIONS_PATH points at a folder read from disk instead.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MIGRATIONS } from '../../migrations/index.ts'
import { type Db, dbTime, UniqueViolation } from './index.ts'

/** The source folder of the bundled migrations. Passed as `dir` it selects their embedded copy (the same
 *  files in a source run; the only copy in a compiled binary, where this path does not exist). */
export const BUNDLED_MIGRATIONS = join(import.meta.dir, '..', '..', 'migrations')

/** `file` is where the SQL came from (for the embedded ones: its path in the source tree). */
export interface Migration { version: string; name: string; file: string; sql: string }

const byVersion = (a: Migration, b: Migration) => Number(a.version) - Number(b.version)

/** The migrations of one dialect in a folder on disk. */
export function listMigrations(dir: string, dialect: Db['dialect']): Migration[] {
  const re = new RegExp(`^(\\d+)_(.+)\\.${dialect}\\.sql$`)
  return readdirSync(dir)
    .map((f) => ({ f, m: re.exec(f) }))
    .filter((x) => x.m)
    .map(({ f, m }) => ({ version: m![1] as string, name: m![2] as string, file: join(dir, f), sql: readFileSync(join(dir, f), 'utf8') }))
    .sort(byVersion)
}

/** The embedded migrations of one dialect (migrations/index.ts). */
export function embeddedMigrations(dialect: Db['dialect']): Migration[] {
  return MIGRATIONS.filter((m) => m.dialect === dialect)
    .map((m) => ({ version: m.version, name: m.name, file: join(BUNDLED_MIGRATIONS, `${m.version}_${m.name}.${dialect}.sql`), sql: m.sql }))
    .sort(byVersion)
}

const migrationsIn = (dir: string, dialect: Db['dialect']) =>
  dir === BUNDLED_MIGRATIONS ? embeddedMigrations(dialect) : listMigrations(dir, dialect)

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

async function appliedVersions(db: Db): Promise<Set<string>> {
  await db.run(CREATE_TABLE[db.dialect])
  const rows = await db.all<{ version: string }>('SELECT version FROM {schema_migrations}')
  return new Set(rows.map((r) => r.version))
}

export async function pendingMigrations(db: Db, dir = BUNDLED_MIGRATIONS): Promise<Migration[]> {
  const done = await appliedVersions(db)
  return migrationsIn(dir, db.dialect).filter((m) => !done.has(m.version))
}

const LOCK_TABLE = 'CREATE TABLE IF NOT EXISTS {schema_migrations_lock} (name VARCHAR(32) NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL, expires_at DATETIME(3) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'

/** How the cluster-wide lock behaves; the defaults are production's, tests shorten them. */
export interface LockOptions {
  /** How long a holder may go silent before another node takes the lock over (it renews at a third of this). */
  leaseMs?: number
  /** How long to wait for another node's migration before giving up. */
  waitMs?: number
}

// The lease is written and compared on the database server's clock, inside the statements: every node measures
// it on one clock, so no application node's clock can move it. (On each node's own clock, one running ahead would
// take a live lease over, and a holder running ahead would keep a dead one for as long as it runs ahead.) This is
// the one deliberate exception to app-written times: MySQL-only code, UTC_TIMESTAMP rather than NOW() so that no
// session time_zone shifts it, and tests shorten the lease (LockOptions) instead of moving a clock. On Galera each
// statement reads the clock of the database node it runs on (the row replicates as written), so those few nodes'
// clocks must agree, which NTP keeps them doing; the application nodes that start and stop no longer matter.
const LEASE_END = 'UTC_TIMESTAMP(3) + INTERVAL ? MICROSECOND'
const TAKE = `INSERT INTO {schema_migrations_lock} (name, holder, expires_at) VALUES ('migrate', ?, ${LEASE_END})`
const TAKE_OVER = `UPDATE {schema_migrations_lock} SET holder = ?, expires_at = ${LEASE_END} WHERE name = 'migrate' AND expires_at < UTC_TIMESTAMP(3)`
// Matched rows, not changed ones (CLIENT_FOUND_ROWS): a renewal within the same millisecond still counts as 1.
const RENEW = `UPDATE {schema_migrations_lock} SET expires_at = ${LEASE_END} WHERE name = 'migrate' AND holder = ?`
const RELEASE = "DELETE FROM {schema_migrations_lock} WHERE name = 'migrate' AND holder = ?"

/** The lock as its holder sees it: `hold()` before each migration statement, `release()` at the end. */
interface MigrationLock { hold(before: string): Promise<void>; release(): Promise<void> }

/** Takes the cluster-wide migration lock: a row under a unique key. Not GET_LOCK, which is held by one server:
 *  on a multi-primary cluster (Galera) every node would get its own. Two nodes inserting the row at once on two
 *  servers conflict at certification (or on the key) and exactly one commit survives. A holder that died is
 *  replaced once its lease has run out. */
async function lockMigrations(db: Db, { leaseMs = 30_000, waitMs = 120_000 }: LockOptions = {}): Promise<MigrationLock> {
  await db.run(LOCK_TABLE)
  const holder = crypto.randomUUID()
  const leaseUs = leaseMs * 1000
  const until = performance.now() + waitMs
  for (;;) {
    try {
      await db.run(TAKE, [holder, leaseUs])
      break
    } catch (e) {
      if (!(e instanceof UniqueViolation)) throw e
    }
    if ((await db.run(TAKE_OVER, [holder, leaseUs])).changes === 1) break
    if (performance.now() > until) throw new Error('migrate: timed out waiting for another node to finish migrating')
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200))
  }
  // A renewal that matches no row: the lease ran out (this process stalled, or its renewals failed) and another
  // node took the row over, or the row was deleted. Another node may be migrating now: nothing more runs here.
  let lost = false
  let released = false
  // When the lease surely still runs, on this process's monotonic clock: it was set at or after the moment the
  // statement that set it was sent, so it runs at least one lease from that moment.
  let heldUntil = performance.now() + leaseMs
  const renew = async () => {
    const sent = performance.now()
    if ((await db.run(RENEW, [leaseUs, holder])).changes !== 1) lost = true
    else heldUntil = Math.max(heldUntil, sent + leaseMs)
    return !lost
  }
  // The timer keeps the lease alive through a long statement. It cannot stop a statement already running, so an
  // error here is only retried at the next tick (the lease still has two thirds of its length), and hold()
  // decides before the next statement.
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = () => {
    timer = setTimeout(async () => {
      if ((await renew().catch(() => true)) && !released) tick()
    }, leaseMs / 3)
  }
  tick()
  return {
    // Renewed and checked before every statement, not only on the timer: a process that stalled past its lease
    // (a pause, a suspended VM) learns it was replaced before it sends anything more, not up to a third of a lease
    // later. A renewal that fails with an error (a dropped connection) is tried again while the lease surely still
    // runs, with a third of a lease to spare: stopping at once would leave a file half applied (a MySQL migration's
    // DDL is not transactional, and only whole files are recorded), so that every later start fails on what the
    // half already created, and it would buy nothing while the row is still ours. Past that, or when the row is
    // no longer ours, nothing more runs here: another node may be migrating. The file stopped in is then re-run
    // from its start by the next holder, which needs mending by hand if its first statements already ran.
    async hold(before) {
      for (let attempt = 1; ; attempt++) {
        let held: boolean
        try {
          held = !lost && await renew()
        } catch (e) {
          const wait = Math.min(1000, 100 * attempt)
          if (performance.now() + wait < heldUntil - leaseMs / 3) { await new Promise((r) => setTimeout(r, wait)); continue }
          throw new Error(`migrate: could not renew the migration lock; stopped before ${before}: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
        }
        if (!held) throw new Error(`migrate: lost the migration lock (its lease ran out and another node took it over, or its row was removed); stopped before ${before}`)
        return
      }
    },
    async release() {
      released = true // a renewal still in flight must not arm the timer again
      clearTimeout(timer)
      await db.run(RELEASE, [holder])
    },
  }
}

/** Applies every pending migration; returns what it applied, in order. Safe when several nodes start at once:
 *  on SQLite each file's transaction (BEGIN IMMEDIATE) re-checks that the file is still pending; on MySQL a
 *  lock row (lockMigrations) lets one node migrate while the others wait, then re-read what is applied: the
 *  holder before it recorded each version before deleting the row, and a cluster applies writes in order, so a
 *  node that sees the row gone sees those versions. A holder that finds it lost the lock stops and rejects.
 *  `now` stamps applied_at only; the lock's lease runs on the database server's clock. */
export async function migrate(db: Db, dir = BUNDLED_MIGRATIONS, now = () => new Date(), lockOptions: LockOptions = {}): Promise<Migration[]> {
  const applied: Migration[] = []
  const record = (d: Db, m: Migration) => d.run('INSERT INTO {schema_migrations} (version, applied_at) VALUES (?, ?)', [m.version, dbTime(now())])
  if (db.dialect === 'sqlite') {
    for (const m of await pendingMigrations(db, dir)) {
      const done = await db.tx(async (t) => {
        if (await t.get('SELECT version FROM {schema_migrations} WHERE version = ?', [m.version])) return false
        for (const s of splitStatements(m.sql)) await t.run(s)
        await record(t, m)
        return true
      })
      if (done) applied.push(m)
    }
    return applied
  }
  const lock = await lockMigrations(db, lockOptions)
  try {
    for (const m of await pendingMigrations(db, dir)) {
      const name = `${m.version}_${m.name}`
      for (const s of splitStatements(m.sql)) {
        await lock.hold(name)
        await db.run(s)
      }
      await lock.hold(`recording ${name}`)
      await record(db, m)
      applied.push(m)
    }
  } catch (e) {
    // The first error is the one to report: a release failing after it (the database gone) would hide it, and
    // the row it leaves expires with its lease.
    await lock.release().catch(() => {})
    throw e
  }
  await lock.release()
  return applied
}
