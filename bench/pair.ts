// Interleaved A/B of two builds (or two settings of one build) under one load: the refresh grant or GET /user, on
// MySQL or SQLite. Whole-run benchmarks on a shared two-core machine swing by a third between rounds, far more than
// most changes move; measuring both sides in alternating order (A B B A A B …), each pair in the same minute, is
// what makes a 5–10 % difference visible. Per run it prints req/s, p50 and p99 and the CPU per request of our server
// and of the database server (from /proc/<pid>/stat), which moves less than throughput does.
//
//   bun bench/pair.ts --a REV|DIR --b REV|DIR [--load refresh|user] [--db mysql|sqlite] [--pairs 4] [--seconds 15]
//                     [--warmup 3] [--connections 32] [--db-pool N] [--a-env K=V,…] [--b-env K=V,…]
//
// A REV (a commit, a branch) is checked out into a temporary git worktree sharing this checkout's node_modules; a
// DIR is used as it is. `--a HEAD --b HEAD --b-env GOTRUE_DB_POOL_SIZE=10` compares two settings of one build.
// The layout is bench/run.ts's: our server on core 0, wrk on core 1, the database server pinned to core 1 for the
// run with InnoDB's buffer pool (2 GB) and redo log (1 GB) raised as the full run does, all restored at the end.
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { dropNamespace, setBufferPool, setRedoLog } from './mysql.ts'
import { freePort, installCleanup, type Proc, run, spawn, stop, stopAll, waitReady } from './procs.ts'
import { median } from './report.ts'
import { gotrueMinter, seedGotrue, topUp, writeLines } from './seed.ts'
import { ensureWrk, failures, wrk } from './wrk.ts'

const argv = process.argv.slice(2)
const opt = (name: string, def: string): string => (argv.includes(name) ? String(argv[argv.indexOf(name) + 1]) : def)
const num = (name: string, def: number): number => {
  const v = Number(opt(name, String(def)))
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name}: expected a number`)
  return v
}
const envOf = (s: string): Record<string, string> =>
  Object.fromEntries(s.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
const F = {
  a: opt('--a', ''), b: opt('--b', ''),
  load: opt('--load', 'refresh') as 'refresh' | 'user',
  db: opt('--db', 'mysql') as 'mysql' | 'sqlite',
  pairs: num('--pairs', 4), seconds: num('--seconds', 15), warmup: num('--warmup', 3), connections: num('--connections', 32),
  /** GOTRUE_DB_POOL_SIZE of both sides on MySQL (a side's env may set its own), as bench/run.ts's --db-pool. */
  dbPool: num('--db-pool', 16),
  aEnv: envOf(opt('--a-env', '')), bEnv: envOf(opt('--b-env', '')),
}
if (!F.a || !F.b) throw new Error('usage: bun bench/pair.ts --a REV|DIR --b REV|DIR [--load refresh|user] [--db mysql|sqlite] [--pairs N] [--seconds S]')
if (!['refresh', 'user'].includes(F.load) || !['mysql', 'sqlite'].includes(F.db)) throw new Error('--load refresh|user, --db mysql|sqlite')

const ROOT = resolve(import.meta.dir, '..')
const MYSQL_URL = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test'
const dir = mkdtempSync(join(tmpdir(), 'gotrue-pair-'))
const worktrees: string[] = []
const namespaces: string[] = []
let restore: (() => Promise<void>)[] = []

async function cleanup(): Promise<void> {
  for (const f of restore.reverse()) await f().catch((e) => console.error(`pair: restore failed: ${e}`))
  restore = []
  for (const ns of namespaces.splice(0)) await dropNamespace(MYSQL_URL, ns).catch(() => {})
  for (const wt of worktrees.splice(0)) await run(['git', 'worktree', 'remove', '--force', wt], { cwd: ROOT })
}
installCleanup(cleanup)

/** A directory holding the build: DIR as given, or REV checked out into a worktree with this checkout's packages. */
async function checkout(ref: string): Promise<string> {
  if (existsSync(join(ref, 'bin', 'gotrue.ts'))) return resolve(ref)
  const wt = join(dir, `wt-${worktrees.length}`)
  const r = await run(['git', 'worktree', 'add', '--detach', wt, ref], { cwd: ROOT })
  if (r.code !== 0) throw new Error(`git worktree add ${ref}: ${r.err}`)
  worktrees.push(wt)
  symlinkSync(join(ROOT, 'node_modules'), join(wt, 'node_modules'))
  return wt
}

/** utime + stime of a process and its threads, in ms. */
function cpuMs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch { return 0 }
}

interface Side { name: string; build: string; server: Proc; file: string; emails: string[] }
const JWT_SECRET = 'pair-secret-0123456789abcdef0123456789abcdef'

async function startSide(name: string, ref: string, extra: Record<string, string>): Promise<Side> {
  const build = await checkout(ref)
  const port = freePort()
  const ns = `pair${Date.now().toString(36)}${name}`
  if (F.db === 'mysql') namespaces.push(ns)
  const env: Record<string, string> = {
    PORT: String(port), GOTRUE_API_HOST: '127.0.0.1', GOTRUE_SITE_URL: 'http://localhost:3000', GOTRUE_JWT_SECRET: JWT_SECRET,
    GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_BCRYPT_COST: '4', GOTRUE_LOG_LEVEL: 'error',
    GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '0', GOTRUE_RATE_LIMIT_LOGIN: '0', GOTRUE_RATE_LIMIT_OTP: '0', GOTRUE_RATE_LIMIT_VERIFY: '0',
    GOTRUE_SMTP_OUTBOX_DIR: join(dir, `outbox-${name}`),
    ...(F.db === 'mysql'
      ? { GOTRUE_DB_DRIVER: 'mysql', GOTRUE_DB_DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: ns, GOTRUE_DB_POOL_SIZE: String(F.dbPool) }
      : { GOTRUE_DB_DRIVER: 'sqlite', GOTRUE_DB_DATABASE_URL: join(dir, `${name}.db`) }),
    ...extra,
  }
  const server = spawn(name, ['bun', join(build, 'bin', 'gotrue.ts'), 'serve'], { cpus: '0', env, cwd: dir, dir, port })
  await waitReady(server)
  const seeded = await seedGotrue(server.url, 32, name)
  const file = join(dir, `${name}.txt`)
  if (F.load === 'user') writeLines(file, seeded.accessTokens.map((t) => `Bearer ${t}`))
  return { name, build, server, file, emails: seeded.emails }
}

let dbPid = 0
async function measure(s: Side, seconds: number) {
  if (F.load === 'refresh') await topUp(s.file, 4 * F.connections, gotrueMinter(s.server.url, s.emails))
  const c0 = cpuMs(s.server.pid), d0 = dbPid ? cpuMs(dbPid) : 0
  const r = await wrk(F.load === 'refresh'
    ? { url: `${s.server.url}/token`, script: 'refresh.lua', threads: 2, connections: F.connections, seconds, args: { threads: 2, file: s.file } }
    : { url: `${s.server.url}/user`, script: 'get.lua', threads: 2, connections: F.connections, seconds, args: { threads: 2, file: s.file, header: 'Authorization' } })
  const n = Math.max(1, r.requests)
  return {
    rps: r.rps, p50: r.p50_us / 1000, p99: r.p99_us / 1000, bad: failures(r),
    srvUs: ((cpuMs(s.server.pid) - c0) * 1000) / n, dbUs: dbPid ? ((cpuMs(dbPid) - d0) * 1000) / n : 0,
  }
}

async function main(): Promise<void> {
  await ensureWrk()
  if (F.db === 'mysql') {
    dbPid = Number((await run(['pidof', 'mariadbd'])).out.trim().split(' ')[0] || (await run(['pidof', 'mysqld'])).out.trim().split(' ')[0] || 0)
    if (dbPid) {
      const mask = /:\s*([0-9a-f]+)\s*$/.exec((await run(['taskset', '-p', String(dbPid)])).out.trim())?.[1]
      if (mask && (await run(['taskset', '-a', '-p', '-c', '1', String(dbPid)])).code === 0) {
        restore.push(async () => { await run(['taskset', '-a', '-p', mask, String(dbPid)]) })
      }
    }
    const pool = await setBufferPool(MYSQL_URL, 2048 * 1048576, true)
    if (pool !== null) restore.push(async () => { await setBufferPool(MYSQL_URL, pool) })
    const redo = await setRedoLog(MYSQL_URL, 1024 * 1048576, true).catch(() => null)
    if (redo !== null) restore.push(async () => { await setRedoLog(MYSQL_URL, redo) })
  }
  const a = await startSide('a', F.a, F.aEnv)
  const b = await startSide('b', F.b, F.bEnv)
  console.log(`pair: ${F.load} on ${F.db}, ${F.connections} connections, ${F.pairs} pairs of ${F.seconds} s (warm-up ${F.warmup} s)`)
  console.log(`pair: a = ${F.a} (${a.build}) ${JSON.stringify(F.aEnv)}; b = ${F.b} (${b.build}) ${JSON.stringify(F.bEnv)}`)
  const out: Record<'a' | 'b', Awaited<ReturnType<typeof measure>>[]> = { a: [], b: [] }
  console.log('pair\tside\treq/s\tp50 ms\tp99 ms\tserver µs/req\tdb µs/req\tfailures')
  for (let i = 0; i < F.pairs; i++) {
    for (const s of i % 2 === 0 ? [a, b] : [b, a]) {
      if (F.warmup > 0) await measure(s, F.warmup)
      const m = await measure(s, F.seconds)
      out[s.name as 'a' | 'b'].push(m)
      console.log(`${i + 1}\t${s.name}\t${Math.round(m.rps)}\t${m.p50.toFixed(1)}\t${m.p99.toFixed(1)}\t${Math.round(m.srvUs)}\t${Math.round(m.dbUs)}\t${m.bad}`)
    }
  }
  for (const k of ['a', 'b'] as const) {
    const ms = out[k]
    console.log(`median ${k}: ${Math.round(median(ms.map((m) => m.rps)))} req/s, p99 ${median(ms.map((m) => m.p99)).toFixed(1)} ms, ` +
      `server ${Math.round(median(ms.map((m) => m.srvUs)))} µs/req, db ${Math.round(median(ms.map((m) => m.dbUs)))} µs/req`)
  }
  const wins = out.a.filter((m, i) => (out.b[i]?.rps ?? 0) > m.rps).length
  console.log(`b faster than a in ${wins} of ${F.pairs} pairs`)
  await stop(a.server)
  await stop(b.server)
}

try {
  await main()
} finally {
  await stopAll()
  await cleanup()
  rmSync(dir, { recursive: true, force: true })
}
