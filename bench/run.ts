// `bun run bench`: our real server against its ceilings and a peer, on this machine's cores 0 (servers) and 1
// (wrk). See bench/README.md. Flags: --quick, --mysql, --bcrypt-cost N, --rounds N, --warmup S, --duration S,
// --connections N, --hash-connections N, --threads N, --users N, --scale N, --no-scale, --no-peer, --out FILE,
// --max-minutes N, --galera, --db-core N, --db-buffer-pool MB, --db-redo-log MB, --tail-seconds S.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateJwk } from '../lib/keys.ts'
import { insertUsers, openCeilingDb } from './ceiling/shared.ts'
import { cpuWindow, quiet, settle } from './cpu.ts'
import { checkpointReader, dirtyPagesSettings, type DirtyPages, dropNamespace, flushDirtyPages, mysqlVersion, redoLogSize, redoLsn, setBufferPool, setDirtyPages, setRedoLog } from './mysql.ts'
import { freePort, installCleanup, logTail, type Proc, rssMb, rssOfFileMb, run, spawn, stop, stopAll, waitReady } from './procs.ts'
import { median, type Row, type Sample, type Section, sectionTable, summarize, type Target, targetsTable, fmtMs, fmtRps, fmtRatio, ratio } from './report.ts'
import { copyMysql, copySqlite, countMysql, countSqlite, fillMysql, fillSqlite } from './scale.ts'
import { ceilingMinter, gotrueMinter, login, PASSWORD, seedGotrue, seedPeer, topUp, writeLines } from './seed.ts'
import { ensureWrk, failures, wrk, type WrkResult } from './wrk.ts'

// ---- flags ----------------------------------------------------------------------------------------------------
const argv = process.argv.slice(2)
const has = (f: string) => argv.includes(f)
const num = (f: string, def: number) => {
  const i = argv.indexOf(f)
  if (i < 0) return def
  const v = Number(argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${f}: expected a positive number`)
  return v
}
const quick = has('--quick')
const F = {
  quick,
  /** --galera measures beside the MySQL rows, so it brings them along. */
  mysql: has('--mysql') || has('--galera'),
  /** Also our server on node 1 of a three-node MariaDB Galera cluster on this machine (tests/fixtures/galera.sh). */
  galera: has('--galera'),
  cost: num('--bcrypt-cost', 10),
  rounds: num('--rounds', quick ? 1 : 3),
  warmup: num('--warmup', quick ? 1 : 3),
  duration: num('--duration', quick ? 3 : 10),
  connections: num('--connections', 32),
  hashConnections: num('--hash-connections', 8),
  threads: num('--threads', 2),
  users: num('--users', 32),
  /** Users in the big database of the 1 k → N figure (0: not measured). */
  scale: has('--no-scale') ? 0 : num('--scale', quick ? 100_000 : 1_000_000),
  coldStarts: quick ? 3 : 5,
  peer: !has('--no-peer'),
  /** With --mysql: the core the database server is pinned to during the run ('none': left alone). */
  /** With --mysql: InnoDB buffer pool (MB) for the run, if the server's is smaller (0: left alone). */
  bufferPoolMb: argv.includes('--db-buffer-pool') ? Number(argv[argv.indexOf('--db-buffer-pool') + 1]) : 2048,
  /** With --mysql: InnoDB's redo log (MB) for the run, if the server's is smaller (0: left alone). */
  redoLogMb: argv.includes('--db-redo-log') ? Number(argv[argv.indexOf('--db-redo-log') + 1]) : 1024,
  dbCore: argv.includes('--db-core') ? String(argv[argv.indexOf('--db-core') + 1]) : '1',
  /** With --mysql: our server's GOTRUE_DB_POOL_SIZE (0: the server's default, 10). 16 by default: with the database
   *  server on one core, interleaved pairs (bench/pair.ts) gave 16 the lowest refresh p99 of 8, 12, 16, 24 and 32
   *  without losing throughput to 24 or 32 (docs/scaling.md). */
  dbPool: num('--db-pool', 16),
  maxMinutes: num('--max-minutes', 40),
  /** Only these groups of the main rounds (user, refresh, password, signup, scale), for development runs. */
  only: argv.includes('--only') ? String(argv[argv.indexOf('--only') + 1]).split(',') : null,
  settle: argv.includes('--settle') ? Number(argv[argv.indexOf('--settle') + 1]) : 8,
  /** With --mysql: seconds of the held refresh load, run once with the run's redo log and then with the database
   *  server's own (the refresh tail's before/after; 0: not measured). */
  tailSeconds: (() => {
    if (!argv.includes('--tail-seconds')) return quick ? 0 : 30
    const v = Number(argv[argv.indexOf('--tail-seconds') + 1])
    if (!Number.isFinite(v) || v < 0) throw new Error('--tail-seconds: expected a number of seconds (0: not measured)')
    return v
  })(),
}
const outIdx = argv.indexOf('--out')
const OUT = outIdx >= 0 ? (argv[outIdx + 1] as string) : quick ? '' : join(import.meta.dir, 'RESULTS.md')
const ROOT = join(import.meta.dir, '..')
const MYSQL_URL = process.env.TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test'
const GALERA_SH = join(ROOT, 'tests', 'fixtures', 'galera.sh')
const GALERA_BASE_PORT = Number(process.env.GALERA_BASE_PORT || 3306)
/** Node 1 of the cluster (galera.sh puts node N on GALERA_BASE_PORT + N). */
const GALERA_URL = `mysql://root@127.0.0.1:${GALERA_BASE_PORT + 1}/test`
const log = (s: string) => console.log(`bench: ${s}`)

// ---- state shared with the cleanup -----------------------------------------------------------------------------
const dir = mkdtempSync(join(tmpdir(), 'gotrue-bench-'))
const namespace = `bench${crypto.randomUUID().replace(/-/g, '').slice(0, 8)}`
const scaleNs = { small: `${namespace}s`, big: `${namespace}b` }
let mysqlUsed = false
/** The cluster's own directory (not the test tier's default), removed by `galera.sh stop`. */
const galeraDir = `/tmp/gotrue-bench-galera-${namespace}`
let galeraStarted = false
const galeraEnv = { GALERA_DIR: galeraDir, GALERA_BASE_PORT: String(GALERA_BASE_PORT) }
/** InnoDB's buffer pool size before --mysql grew it (restored by the cleanup). */
let bufferPoolBefore: number | null = null
/** innodb_log_file_size before --mysql grew it (restored by the cleanup). */
let redoLogBefore: number | null = null
/** innodb_max_dirty_pages_pct and its low-water mark before the refresh tail's flushes (restored by the cleanup). */
let dirtyPagesBefore: DirtyPages | null = null
/** Redo bytes the database wrote per refresh grant, one figure per MySQL refresh measurement. */
const redoPerRefresh: number[] = []
/** The database server's CPU mask before --mysql pinned it (restored by the cleanup). */
let dbAffinity: { pid: number; mask: string } | null = null
let failed = false
async function cleanup() {
  await stopAll()
  if (galeraStarted) {
    const r = await run(['bash', GALERA_SH, 'stop'], { env: galeraEnv, timeoutMs: 120_000 }).catch(() => null)
    if (r?.code !== 0) console.error(`bench: could not stop the Galera cluster: run \`GALERA_DIR=${galeraDir} bash tests/fixtures/galera.sh stop\``)
  }
  if (dbAffinity) {
    const r = await run(['taskset', '-a', '-p', dbAffinity.mask, String(dbAffinity.pid)]).catch(() => null)
    if (r?.code !== 0) console.error(`bench: could not restore the CPU affinity of the database server (pid ${dbAffinity.pid}) to ${dbAffinity.mask}: run \`taskset -a -p ${dbAffinity.mask} ${dbAffinity.pid}\``)
  }
  if (bufferPoolBefore !== null) {
    await setBufferPool(MYSQL_URL, bufferPoolBefore).catch((e) => console.error(`bench: could not restore innodb_buffer_pool_size to ${bufferPoolBefore}: ${e}`))
  }
  if (dirtyPagesBefore !== null) {
    const d = dirtyPagesBefore
    await setDirtyPages(MYSQL_URL, d).catch((e) => console.error(`bench: could not restore innodb_max_dirty_pages_pct to ${d.pct} (low-water mark ${d.lwm}): ${e}`))
  }
  if (redoLogBefore !== null) {
    await setRedoLog(MYSQL_URL, redoLogBefore).catch((e) => console.error(`bench: could not restore innodb_log_file_size to ${redoLogBefore}: ${e}`))
  }
  if (mysqlUsed) {
    for (const ns of [namespace, scaleNs.small, scaleNs.big]) await dropNamespace(MYSQL_URL, ns).catch((e) => console.error(`bench: could not drop MySQL namespace ${ns}: ${e}`))
  }
  if (failed) console.error(`bench: logs kept in ${dir}`)
  else rmSync(dir, { recursive: true, force: true })
}
installCleanup(cleanup)
const guard = setTimeout(() => {
  console.error(`bench: over --max-minutes ${F.maxMinutes}: aborting`)
  failed = true
  void cleanup().finally(() => process.exit(1))
}, F.maxMinutes * 60_000)

// ---- servers ---------------------------------------------------------------------------------------------------
const JWT_SECRET = `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`
const AUD = 'bench'

type Driver = 'sqlite' | 'mysql'
/** `db`: the SQLite file, or the MySQL table namespace. */
function gotrueEnv(port: number, driver: Driver, db: string): Record<string, string> {
  return {
    GOTRUE_API_HOST: '127.0.0.1', GOTRUE_API_PORT: String(port),
    ...(driver === 'mysql'
      ? { GOTRUE_DB_DRIVER: 'mysql', GOTRUE_DB_DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: db, ...(F.dbPool > 0 ? { GOTRUE_DB_POOL_SIZE: String(F.dbPool) } : {}) }
      : { GOTRUE_DB_DRIVER: 'sqlite', GOTRUE_DB_DATABASE_URL: db }),
    GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_BCRYPT_COST: String(F.cost),
    GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '0', GOTRUE_RATE_LIMIT_LOGIN: '0', GOTRUE_RATE_LIMIT_OTP: '0', GOTRUE_RATE_LIMIT_VERIFY: '0',
    GOTRUE_LOG_LEVEL: 'error', GOTRUE_JWT_SECRET: JWT_SECRET, GOTRUE_JWT_AUD: AUD, GOTRUE_SMTP_OUTBOX_DIR: join(dir, 'outbox'),
  }
}

/** Our server from the checkout (cwd is the temp dir so a developer's ./.env cannot change the run). */
function startGotrue(name: string, cpus: string, driver: Driver, db: string, extra: Record<string, string> = {}): Proc {
  const port = freePort()
  return spawn(name, ['bun', join(ROOT, 'bin', 'gotrue.ts'), 'serve'], { cpus, env: { ...gotrueEnv(port, driver, db), ...extra }, cwd: dir, dir, port })
}

function startCeiling(name: string, file: string, db: string): Proc {
  const port = freePort()
  return spawn(name, ['bun', join(import.meta.dir, 'ceiling', file)], {
    cpus: '0', cwd: ROOT, dir, port, env: { PORT: String(port), CEILING_DB: db, JWT_SECRET, JWT_AUD: AUD },
  })
}

async function startPeer(): Promise<Proc> {
  const peerDir = join(import.meta.dir, 'peer')
  if (!existsSync(join(peerDir, 'node_modules', 'better-auth'))) {
    log('installing the peer: cd bench/peer && bun install --frozen-lockfile')
    const r = await run(['bun', 'install', '--frozen-lockfile'], { cwd: peerDir, timeoutMs: 300_000 })
    if (r.code !== 0) throw new Error(`bun install in bench/peer failed:\n${r.err.slice(-1500)}`)
  }
  const port = freePort()
  const p = spawn('peer', ['bun', join(peerDir, 'server.js')], {
    cpus: '0', cwd: peerDir, dir, port, env: { PORT: String(port), PEER_DB: join(dir, 'peer.db'), NODE_ENV: 'production' },
  })
  await waitReady(p)
  return p
}

// ---- measurements ----------------------------------------------------------------------------------------------
interface Item { row: Row; group: string; measure: (seconds: number, runId: string) => Promise<Sample> }
const rows: Row[] = []
const items: Item[] = []
const notes: string[] = []

function row(id: string, label: string, cores: string, extra: Partial<Row> = {}): Row {
  const r: Row = { id, label, cores, samples: [], ...extra }
  rows.push(r)
  return r
}

const ms = (us: number) => us / 1000
let wrkPeak = 0 // the most of core 1 wrk used in any run (%): near 100 would make wrk the bottleneck
function sampleOf(r: WrkResult, what: string, other?: number): Sample {
  const bad = failures(r)
  const extra = r.extra ?? {}
  const starved = Number(extra.starved ?? 0), unparsed = Number(extra.unparsed ?? 0)
  let note: string | undefined
  if (bad || starved || unparsed) {
    note = `${what}: ${r.errors.status} non-2xx (${JSON.stringify(r.statuses)}), socket errors c/r/w/t ${r.errors.connect}/${r.errors.read}/${r.errors.write}/${r.errors.timeout}` +
      (starved || unparsed ? `, ${starved} requests without a token, ${unparsed} bodies without a refresh_token` : '')
    console.warn(`bench: WARNING ${note}`)
  }
  wrkPeak = Math.max(wrkPeak, r.cpuMs / (r.duration_us / 1000) * 100)
  return { rps: r.rps, p50: ms(r.p50_us), p99: ms(r.p99_us), failures: bad + starved + unparsed, note, other }
}

/** The database server's pid with --mysql (part of the system under test, not "other load"). */
let dbServerPid: number | null = null
function findDbServer(): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try { if (/^(mariadbd|mysqld)$/.test(readFileSync(`/proc/${d}/comm`, 'utf8').trim())) return Number(d) } catch { /* gone */ }
  }
  return null
}

/** `db`: the database server processes of this target (part of the system under test, not "other load"). */
function wrkItem(group: string, r: Row, o: { server: Proc; path: string; script: string; connections: number; args?: (runId: string) => Record<string, string | number>; prepare?: () => Promise<void>; db?: number[] }) {
  items.push({
    row: r, group,
    measure: async (seconds, runId) => {
      await o.prepare?.()
      const w = cpuWindow([o.server.pid, ...(o.db ?? (dbServerPid ? [dbServerPid] : []))])
      const res = await wrk({ url: o.server.url + o.path, script: o.script, threads: F.threads, connections: o.connections, seconds, args: { threads: F.threads, ...o.args?.(runId) } })
      const sample = sampleOf(res, `${r.label} (${o.path})`, w.stop(res.cpuMs).other)
      if (o.db) await quiet(o.db, 10, 30_000) // a database of its own (the Galera nodes) settles before the next row
      return sample
    },
  })
}

function bcryptItem(r: Row, cpus: string, concurrency: number) {
  items.push({
    row: r, group: 'password',
    measure: async (seconds) => {
      const w = cpuWindow([])
      const res = await run(['taskset', '-c', cpus, 'bun', join(import.meta.dir, 'bcrypt.ts'), '--cost', String(F.cost), '--concurrency', String(concurrency),
        '--seconds', String(seconds), '--warmup', '0'], { timeoutMs: (seconds + 60) * 1000 })
      if (res.code !== 0) throw new Error(`bcrypt.ts failed: ${res.err}`)
      const out = JSON.parse(res.out.trim().split('\n').pop() as string) as { rate: number }
      return { rps: out.rate, p50: null, p99: null, failures: 0, other: w.stop(res.cpuMs).other }
    },
  })
}

/** GET /user on `url` must answer exactly what our server answers for the same token. */
async function sameJson(label: string, ours: string, other: string, token: string) {
  const get = async (u: string) => (await fetch(`${u}/user`, { headers: { authorization: `Bearer ${token}` } })).json()
  const a = JSON.stringify(await get(ours)), b = JSON.stringify(await get(other))
  if (a === b) notes.push(`${label} answered byte-for-byte the same JSON as our GET /user for the same token (checked before the load).`)
  else {
    const msg = `${label} does not answer the same JSON as our GET /user:\n  ours:    ${a}\n  ceiling: ${b}`
    console.warn(`bench: WARNING ${msg}`)
    notes.push(msg)
  }
}

async function refreshOnce(url: string, token: string, label: string) {
  const res = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${token}` })
  const body = (await res.json()) as Record<string, unknown>
  if (res.status !== 200 || typeof body.refresh_token !== 'string' || typeof body.access_token !== 'string') throw new Error(`${label}: a refresh grant failed: ${res.status} ${JSON.stringify(body)}`)
}

// ---- main ------------------------------------------------------------------------------------------------------
async function main() {
  const started = new Date()
  // The checkout as the servers load it (other people may commit while the run goes on).
  const git = (await run(['git', 'rev-parse', '--short', 'HEAD'], { cwd: ROOT })).out.trim()
  const dirty = (await run(['git', 'status', '--porcelain', '--untracked-files=no'], { cwd: ROOT })).out.split('\n').filter(Boolean).length
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  log(`${F.quick ? 'quick run' : 'full run'}: ${F.rounds} round(s), warm-up ${F.warmup} s, ${F.duration} s per measurement, bcrypt cost ${F.cost}, ` +
    `${F.connections} connections (${F.hashConnections} on bcrypt-bound routes), ${F.threads} wrk threads, ${F.mysql ? 'SQLite and MySQL' : 'SQLite'}; temp dir ${dir}`)
  if ((await run(['nproc'])).out.trim() !== '2') log(`note: this harness pins servers to core 0 and wrk to core 1; nproc is ${(await run(['nproc'])).out.trim()}`)
  const wrkPath = await ensureWrk()
  const wrkVersion = `wrk ${/wrk (\S+)/.exec((await run([wrkPath, '-v'])).out)?.[1] ?? '?'}`

  // Our server on SQLite, one core (the measured configuration), and the same checkout on two cores for the hashing
  // pool; with --mysql also on MySQL (one core) for the MySQL ÷ SQLite figures.
  if (F.mysql) {
    mysqlUsed = true
    dbServerPid = findDbServer()
    if (!dbServerPid) log('note: no mariadbd/mysqld process found on this machine; its CPU counts as other load')
    // The database server (every thread) goes on wrk's core for the run, as if on its own host: our server then
    // has core 0 to itself, as on SQLite. Its mask is put back at the end, on failure and on Ctrl-C.
    else if (F.dbCore !== 'none') {
      const cur = await run(['taskset', '-p', String(dbServerPid)])
      const mask = /:\s*([0-9a-f]+)\s*$/.exec(cur.out.trim())?.[1]
      if (cur.code === 0 && mask && (await run(['taskset', '-a', '-p', '-c', F.dbCore, String(dbServerPid)])).code === 0) {
        dbAffinity = { pid: dbServerPid, mask }
        log(`the database server (pid ${dbServerPid}) is pinned to core ${F.dbCore} for the run (its mask ${mask} is restored at the end)`)
      } else log(`note: could not pin the database server (pid ${dbServerPid}) to core ${F.dbCore}; it runs where the OS puts it`)
    }
    // A database of a million users is ~1.3 GB of InnoDB data and indexes; MariaDB's default buffer pool (128 MB)
    // would make the scale figure measure disk reads of the database server, not our server. Sized as a
    // production server would be, for the run only.
    if (F.bufferPoolMb > 0) {
      const before = await setBufferPool(MYSQL_URL, F.bufferPoolMb * 1024 * 1024, true)
      if (before !== null) {
        bufferPoolBefore = before
        log(`innodb_buffer_pool_size raised from ${Math.round(before / 1048576)} MB to ${F.bufferPoolMb} MB for the run (restored at the end)`)
      }
    }
    // The redo log bounds how much written work InnoDB may keep unflushed. MariaDB's default (96 MB) holds about
    // ten seconds of refresh grants at full speed (bench reports the redo per grant); once it is full, InnoDB
    // stalls every write while it flushes pages, which is what gave the refresh grant a p99 of hundreds of ms to
    // seconds in earlier runs. Sized as a production server would be, for the run only.
    if (F.redoLogMb > 0) {
      const before = await setRedoLog(MYSQL_URL, F.redoLogMb * 1024 * 1024, true).catch((e) => {
        log(`note: could not resize innodb_log_file_size (${e instanceof Error ? e.message : e}); the server's own is used`)
        return null
      })
      if (before !== null) {
        redoLogBefore = before
        log(`innodb_log_file_size raised from ${Math.round(before / 1048576)} MB to ${F.redoLogMb} MB for the run (restored at the end)`)
      }
    }
  }
  const oursDb = join(dir, 'gotrue.db')
  const ours = startGotrue('gotrue-1core', '0', 'sqlite', oursDb)
  await waitReady(ours)
  const idleRssAfterStart = rssMb(ours.pid)
  log(`our server is up; seeding ${F.users} accounts through the API`)
  const seeded = await seedGotrue(ours.url, F.users, 'main')
  const accessFile = join(dir, 'access.txt'), loginsFile = join(dir, 'logins.txt'), refreshFile = join(dir, 'refresh.txt')
  writeLines(accessFile, seeded.accessTokens.map((t) => `Bearer ${t}`))
  writeLines(loginsFile, seeded.emails.map((e) => `${e}\t${PASSWORD}`))
  const pool = 4 * F.connections
  await topUp(refreshFile, pool, gotrueMinter(ours.url, seeded.emails))
  await refreshOnce(ours.url, readFileSync(refreshFile, 'utf8').split('\n')[0] as string, 'our server')
  writeLines(refreshFile, readFileSync(refreshFile, 'utf8').split('\n').filter(Boolean).slice(1))
  const ours2 = startGotrue('gotrue-2cores', '0,1', 'sqlite', oursDb)
  await waitReady(ours2)
  // The same build and database with an asymmetric signing key (GOTRUE_JWT_KEYS), for GET /user with ES256 and
  // EdDSA tokens beside HS256: the seeded accounts log in there, so their tokens carry that key's signature.
  const asym: Record<'ES256' | 'EdDSA', { server: Proc; file: string }> = {} as never
  for (const alg of ['ES256', 'EdDSA'] as const) {
    const keys = JSON.stringify([{ ...generateJwk(alg, `bench-${alg}`), key_ops: ['sign'] }])
    const server = startGotrue(`gotrue-${alg.toLowerCase()}`, '0', 'sqlite', oursDb, { GOTRUE_JWT_KEYS: keys })
    await waitReady(server)
    const file = join(dir, `access-${alg}.txt`)
    writeLines(file, await Promise.all(seeded.emails.map(async (e) => `Bearer ${String((await login(server.url, e)).access_token)}`)))
    asym[alg] = { server, file }
  }

  const H = F.hashConnections
  // ---- extra: GET /user during a login flood (before any MySQL work: the two-core server shares core 1 with the
  // database server, whose page flushing after the scale figure's fill disturbed this figure in one run) ----
  const flood = async (target: Proc, label: string) => {
    const probe = (seconds: number) => wrk({ url: `${target.url}/user`, script: 'probe.lua', threads: 1, connections: 4, seconds, args: { file: accessFile, header: 'Authorization', pause: 5, threads: 1 } })
    await probe(F.warmup)
    const alone = await probe(F.duration)
    const w = cpuWindow(dbServerPid ? [target.pid, dbServerPid] : [target.pid])
    const floodRun = wrk({ url: `${target.url}/token`, script: 'login.lua', threads: 1, connections: 2 * H, seconds: F.duration + 2, args: { file: loginsFile, mode: 'gotrue', threads: 1 } })
    await Bun.sleep(1000)
    const during = await probe(F.duration)
    const logins = await floodRun
    const other = w.stop(during.cpuMs + logins.cpuMs).other
    const r = { label, alone: sampleOf(alone, `${label} probe`), during: sampleOf(during, `${label} probe under flood`, other), logins: sampleOf(logins, `${label} login flood`) }
    log(`  flood ${label}: GET /user p99 ${fmtMs(r.alone.p99)} ms alone, ${fmtMs(r.during.p99)} ms during ${fmtRps(r.logins.rps)} logins/s`)
    for (const s of [r.alone, r.during, r.logins]) if (s.note) notes.push(`login flood: ${s.note}`)
    return r
  }
  log(`extra: GET /user (paced probe) during a login flood (password grants, ${2 * H} connections)`)
  const flood2 = await flood(ours2, 'two cores')
  const flood1 = await flood(ours, 'one core')

  // With --mysql, the same build on MySQL.
  let oursMy: Proc | null = null
  const myAccess = join(dir, 'mysql-access.txt'), myRefresh = join(dir, 'mysql-refresh.txt')
  let myEmails: string[] = []
  if (F.mysql) {
    oursMy = startGotrue('gotrue-1core-mysql', '0', 'mysql', namespace)
    await waitReady(oursMy)
    log(`our server is up on MySQL; seeding ${F.users} accounts through the API`)
    const s = await seedGotrue(oursMy.url, F.users, 'mysql')
    myEmails = s.emails
    writeLines(myAccess, s.accessTokens.map((t) => `Bearer ${t}`))
    await topUp(myRefresh, pool, gotrueMinter(oursMy.url, myEmails))
  }

  // With --galera, the same build on node 1 of a three-node Galera cluster on this machine: every commit is
  // certified by all three nodes before it returns, so beside the single-MariaDB rows this shows what that costs
  // (three nodes on one machine show the overhead, not scale-out).
  let oursGal: Proc | null = null
  const galAccess = join(dir, 'galera-access.txt'), galRefresh = join(dir, 'galera-refresh.txt')
  let galEmails: string[] = []
  const galeraPids: number[] = []
  let galeraVersion = ''
  if (F.galera) {
    // The fixture's group-communication ports are fixed: a cluster someone else runs (the Galera test tier, say)
    // would be taken for ours, or collide with it. Refuse rather than measure or stop theirs.
    for (const port of [GALERA_BASE_PORT + 1, GALERA_BASE_PORT + 2, GALERA_BASE_PORT + 3, 4567, 4577, 4587]) {
      const busy = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then((s) => { s.end(); return true }, () => false)
      if (busy) throw new Error(`--galera: something already listens on 127.0.0.1:${port} (another Galera cluster?); stop it first`)
    }
    log('starting a three-node MariaDB Galera cluster (tests/fixtures/galera.sh start)')
    galeraStarted = true
    const t0 = performance.now()
    const r = await run(['bash', GALERA_SH, 'start'], { env: galeraEnv, timeoutMs: 300_000 })
    if (r.code !== 0) throw new Error(`galera.sh start failed (${r.code}):\n${(r.out + r.err).slice(-2000)}`)
    for (const n of [1, 2, 3]) {
      const pid = Number(readFileSync(join(galeraDir, `node${n}.pid`), 'utf8').trim())
      if (!pid) throw new Error(`--galera: no pid for node ${n}`)
      galeraPids.push(pid)
      // On the database core with wrk, as the single MariaDB server (stopped at the end, so nothing to restore).
      if (F.dbCore !== 'none' && (await run(['taskset', '-a', '-p', '-c', F.dbCore, String(pid)])).code !== 0) log(`note: could not pin Galera node ${n} (pid ${pid}) to core ${F.dbCore}`)
    }
    galeraVersion = await mysqlVersion(GALERA_URL)
    log(`Galera cluster synced in ${((performance.now() - t0) / 1000).toFixed(0)} s (nodes ${galeraPids.join(', ')}${F.dbCore !== 'none' ? `, pinned to core ${F.dbCore}` : ''})`)
    oursGal = startGotrue('gotrue-1core-galera', '0', 'mysql', `${namespace}g`, { GOTRUE_DB_DATABASE_URL: GALERA_URL })
    await waitReady(oursGal)
    log(`our server is up on Galera node 1; seeding ${F.users} accounts through the API`)
    const s = await seedGotrue(oursGal.url, F.users, 'galera')
    galEmails = s.emails
    writeLines(galAccess, s.accessTokens.map((t) => `Bearer ${t}`))
    await topUp(galRefresh, pool, gotrueMinter(oursGal.url, galEmails))
    await refreshOnce(oursGal.url, readFileSync(galRefresh, 'utf8').split('\n')[0] as string, 'our server on Galera')
    writeLines(galRefresh, readFileSync(galRefresh, 'utf8').split('\n').filter(Boolean).slice(1))
  }

  // 1 k users vs F.scale users: two servers per driver, on a 1 k-user database and on a copy grown to F.scale.
  interface ScaleSet { driver: Driver; small: Proc; big: Proc; access: string; refreshSmall: string; refreshBig: string; emails: string[]; counts: string }
  const scaleSets: ScaleSet[] = []
  if (F.scale) {
    const SMALL = 1000
    if (F.scale <= SMALL || F.users >= SMALL) throw new Error(`--scale must be above ${SMALL} and --users below it`)
    for (const driver of F.mysql ? (['sqlite', 'mysql'] as const) : (['sqlite'] as const)) {
      const t0 = performance.now()
      const smallDb = driver === 'sqlite' ? join(dir, 'scale-small.db') : scaleNs.small
      const bigDb = driver === 'sqlite' ? join(dir, 'scale-big.db') : scaleNs.big
      const small = startGotrue(`gotrue-scale-small-${driver}`, '0', driver, smallDb)
      await waitReady(small)
      const s = await seedGotrue(small.url, F.users, `scale${driver}`)
      log(`scale (${driver}): filling the small database to ${SMALL} users, copying it, growing the copy to ${F.scale.toLocaleString('en-US')} users`)
      if (driver === 'sqlite') {
        fillSqlite(smallDb, SMALL - F.users, 'small', AUD)
        copySqlite(smallDb, bigDb)
        fillSqlite(bigDb, F.scale - SMALL, 'big', AUD)
      } else {
        await fillMysql(MYSQL_URL, smallDb, SMALL - F.users, 'small', AUD)
        await copyMysql(MYSQL_URL, smallDb, bigDb)
        await fillMysql(MYSQL_URL, bigDb, F.scale - SMALL, 'big', AUD)
      }
      const big = startGotrue(`gotrue-scale-big-${driver}`, '0', driver, bigDb)
      await waitReady(big)
      const cs = driver === 'sqlite' ? [countSqlite(smallDb), countSqlite(bigDb)] : [await countMysql(MYSQL_URL, smallDb), await countMysql(MYSQL_URL, bigDb)]
      const set: ScaleSet = {
        driver, small, big, emails: s.emails, access: join(dir, `scale-access-${driver}.txt`),
        refreshSmall: join(dir, `scale-refresh-small-${driver}.txt`), refreshBig: join(dir, `scale-refresh-big-${driver}.txt`),
        counts: `${driver === 'sqlite' ? 'SQLite' : 'MySQL'}: ${cs.map((c) => `${c.users.toLocaleString('en-US')} users / ${c.tokens.toLocaleString('en-US')} refresh tokens`).join(' vs ')} ` +
          `(set up in ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      }
      writeLines(set.access, s.accessTokens.map((t) => `Bearer ${t}`))
      await topUp(set.refreshSmall, pool, gotrueMinter(small.url, s.emails))
      await topUp(set.refreshBig, pool, gotrueMinter(big.url, s.emails))
      scaleSets.push(set)
      log(`scale: ${set.counts}`)
    }
  }

  // Ceilings (users copied from what our GET /user answers now, after the logins above, so they answer the same JSON).
  seeded.users = await Promise.all(seeded.accessTokens.map(async (tok) => (await fetch(`${ours.url}/user`, { headers: { authorization: `Bearer ${tok}` } })).json() as Promise<Record<string, unknown>>))
  const ceilUsersDb = join(dir, 'ceiling-users.db'), ceilRefreshDb = join(dir, 'ceiling-refresh.db')
  for (const path of [ceilUsersDb, ceilRefreshDb]) { const db = openCeilingDb(path); insertUsers(db, seeded.users); db.close() }
  const ceilBun = startCeiling('ceiling-user-bun', 'user-bun.ts', ceilUsersDb)
  const ceilElysia = startCeiling('ceiling-user-elysia', 'user-elysia.ts', ceilUsersDb)
  const ceilRefresh = startCeiling('ceiling-refresh', 'refresh.ts', ceilRefreshDb)
  for (const p of [ceilBun, ceilElysia, ceilRefresh]) await waitReady(p)
  await sameJson('the Bun.serve ceiling', ours.url, ceilBun.url, seeded.accessTokens[0] as string)
  await sameJson('the Elysia ceiling', ours.url, ceilElysia.url, seeded.accessTokens[0] as string)
  const ceilRefreshFile = join(dir, 'ceiling-refresh.txt')
  await topUp(ceilRefreshFile, pool, ceilingMinter(ceilRefresh.url))
  await refreshOnce(ceilRefresh.url, (await ceilingMinter(ceilRefresh.url)(1))[0] as string, 'the refresh ceiling')

  // The peer.
  let peer: Proc | null = null
  const peerCookies = join(dir, 'peer-cookies.txt'), peerLogins = join(dir, 'peer-logins.txt')
  let betterAuthVersion = 'not run'
  if (F.peer) {
    try {
      peer = await startPeer()
      const s = await seedPeer(peer.url, F.users, 'peer')
      writeLines(peerCookies, s.cookies)
      writeLines(peerLogins, s.emails.map((e) => `${e}\t${PASSWORD}`))
      betterAuthVersion = JSON.parse(readFileSync(join(import.meta.dir, 'peer', 'node_modules', 'better-auth', 'package.json'), 'utf8')).version
    } catch (e) {
      const msg = `the peer (better-auth) could not be started or seeded, so it is left out: ${e instanceof Error ? e.message : String(e)}`
      console.warn(`bench: WARNING ${msg}`)
      notes.push(msg)
      if (peer) await stop(peer)
      peer = null
    }
  } else notes.push('the peer was skipped (--no-peer)')

  // ---- the plan ----
  const C = F.connections
  const oursLabel = 'GoTrue (this project, SQLite)'
  const uOurs = row('user.ours', oursLabel, '1', { project: true })
  wrkItem('user', uOurs, { server: ours, path: '/user', script: 'get.lua', connections: C, args: () => ({ file: accessFile, header: 'Authorization' }) })
  if (oursMy) {
    const r = row('user.mysql', 'GoTrue (this project, MySQL)', '1', { project: true })
    wrkItem('user', r, { server: oursMy, path: '/user', script: 'get.lua', connections: C, args: () => ({ file: myAccess, header: 'Authorization' }) })
  }
  if (oursGal) {
    const r = row('user.galera', 'GoTrue (this project, MySQL on Galera node 1 of 3)', '1', { project: true })
    wrkItem('user', r, { server: oursGal, path: '/user', script: 'get.lua', connections: C, db: galeraPids, args: () => ({ file: galAccess, header: 'Authorization' }) })
  }
  for (const alg of ['ES256', 'EdDSA'] as const) {
    wrkItem('user', row(`user.${alg.toLowerCase()}`, `GoTrue (this project, SQLite), ${alg} tokens (GOTRUE_JWT_KEYS)`, '1', { vs: 'user.ours' }),
      { server: asym[alg].server, path: '/user', script: 'get.lua', connections: C, args: () => ({ file: asym[alg].file, header: 'Authorization' }) })
  }
  wrkItem('user', row('user.bun', 'ceiling: bare Bun.serve, sync HS256 + bun:sqlite', '1', { vs: 'user.ours' }),
    { server: ceilBun, path: '/user', script: 'get.lua', connections: C, args: () => ({ file: accessFile, header: 'Authorization' }) })
  wrkItem('user', row('user.elysia', 'ceiling: bare Elysia, same work', '1', { vs: 'user.ours' }),
    { server: ceilElysia, path: '/user', script: 'get.lua', connections: C, args: () => ({ file: accessFile, header: 'Authorization' }) })
  if (peer) {
    wrkItem('user', row('user.peer', `peer: better-auth ${betterAuthVersion} GET /api/auth/get-session (cookie)`, '1', { vs: 'user.ours' }),
      { server: peer, path: '/api/auth/get-session', script: 'get.lua', connections: C, args: () => ({ file: peerCookies, header: 'Cookie' }) })
  }

  const rOurs = row('refresh.ours', oursLabel, '1', { project: true })
  wrkItem('refresh', rOurs, { server: ours, path: '/token', script: 'refresh.lua', connections: C, args: () => ({ file: refreshFile }),
    prepare: async () => { await topUp(refreshFile, pool, gotrueMinter(ours.url, seeded.emails)) } })
  if (oursMy) {
    const my = oursMy
    wrkItem('refresh', row('refresh.mysql', 'GoTrue (this project, MySQL)', '1', { project: true }), { server: my, path: '/token', script: 'refresh.lua', connections: C,
      args: () => ({ file: myRefresh }), prepare: async () => { await topUp(myRefresh, pool, gotrueMinter(my.url, myEmails)) } })
    // The redo the database writes per grant (InnoDB's LSN over the measurement ÷ its requests): what sizes the
    // redo log (docs/scaling.md). Whole-server figure: nothing else writes to it during the measurement.
    const item = items[items.length - 1] as Item
    const measure = item.measure
    item.measure = async (seconds, runId) => {
      const before = await redoLsn(MYSQL_URL).catch(() => Number.NaN)
      const sample = await measure(seconds, runId)
      const after = await redoLsn(MYSQL_URL).catch(() => Number.NaN)
      const requests = sample.rps * seconds
      if (Number.isFinite(after - before) && requests > 0) redoPerRefresh.push((after - before) / requests)
      return sample
    }
  }
  if (oursGal) {
    const gal = oursGal
    wrkItem('refresh', row('refresh.galera', 'GoTrue (this project, MySQL on Galera node 1 of 3)', '1', { project: true }), { server: gal, path: '/token', script: 'refresh.lua', connections: C,
      db: galeraPids, args: () => ({ file: galRefresh }), prepare: async () => { await topUp(galRefresh, pool, gotrueMinter(gal.url, galEmails)) } })
  }
  wrkItem('refresh', row('refresh.ceiling', 'ceiling: bare Bun.serve, one bun:sqlite transaction + createHmac', '1', { vs: 'refresh.ours' }),
    { server: ceilRefresh, path: '/token', script: 'refresh.lua', connections: C, args: () => ({ file: ceilRefreshFile }),
      prepare: async () => { await topUp(ceilRefreshFile, pool, ceilingMinter(ceilRefresh.url)) } })

  wrkItem('password', row('password.ours', oursLabel, '1', { project: true }),
    { server: ours, path: '/token', script: 'login.lua', connections: H, args: () => ({ file: loginsFile, mode: 'gotrue' }) })
  wrkItem('password', row('password.ours2', `${oursLabel}, two cores`, '0,1 (shared with wrk)', { project: true }),
    { server: ours2, path: '/token', script: 'login.lua', connections: H, args: () => ({ file: loginsFile, mode: 'gotrue' }) })
  bcryptItem(row('password.bcrypt1', `ceiling: raw bcrypt cost ${F.cost}, Bun.password.hash ×2 in flight (hashes/s)`, '1', { vs: 'password.ours' }), '0', 2)
  bcryptItem(row('password.bcrypt2', `ceiling: raw bcrypt cost ${F.cost}, Bun.password.hash ×4 in flight (hashes/s)`, '0,1', { vs: 'password.ours2' }), '0,1', 4)
  if (peer) {
    wrkItem('password', row('password.peer', 'peer: better-auth POST /api/auth/sign-in/email (scrypt)', '1', { vs: 'password.ours' }),
      { server: peer, path: '/api/auth/sign-in/email', script: 'login.lua', connections: H, args: () => ({ file: peerLogins, mode: 'peer' }) })
  }

  const signupArgs = (runId: string) => ({ run: runId, mode: 'gotrue', password: PASSWORD })
  wrkItem('signup', row('signup.ours', oursLabel, '1', { project: true }), { server: ours, path: '/signup', script: 'signup.lua', connections: H, args: signupArgs })
  wrkItem('signup', row('signup.ours2', `${oursLabel}, two cores`, '0,1 (shared with wrk)', { project: true }), { server: ours2, path: '/signup', script: 'signup.lua', connections: H, args: signupArgs })
  if (peer) {
    wrkItem('signup', row('signup.peer', 'peer: better-auth POST /api/auth/sign-up/email (scrypt)', '1', { vs: 'signup.ours' }),
      { server: peer, path: '/api/auth/sign-up/email', script: 'signup.lua', connections: H, args: (id) => ({ run: id, mode: 'peer', password: PASSWORD }) })
  }

  const scaleLabel = (set: ScaleSet, big: boolean) => `GoTrue (${set.driver === 'sqlite' ? 'SQLite' : 'MySQL'}), ${(big ? F.scale : 1000).toLocaleString('en-US')} users`
  for (const set of scaleSets) {
    const id = (what: string, big: boolean) => `scale.${set.driver}.${what}.${big ? 'big' : 'small'}`
    for (const big of [false, true]) {
      const server = big ? set.big : set.small
      wrkItem('scale', row(id('user', big), `GET /user: ${scaleLabel(set, big)}`, '1', big ? { project: true } : { vs: id('user', true) }),
        { server, path: '/user', script: 'get.lua', connections: C, args: () => ({ file: set.access, header: 'Authorization' }) })
    }
    for (const big of [false, true]) {
      const server = big ? set.big : set.small, file = big ? set.refreshBig : set.refreshSmall
      wrkItem('scale', row(id('refresh', big), `refresh grant: ${scaleLabel(set, big)}`, '1', big ? { project: true } : { vs: id('refresh', true) }),
        { server, path: '/token', script: 'refresh.lua', connections: C, args: () => ({ file }), prepare: async () => { await topUp(file, pool, gotrueMinter(server.url, set.emails)) } })
    }
  }

  // ---- rounds: groups in order, the targets of a group interleaved (rotated each round) ----
  const groups = ['user', 'refresh', 'password', 'signup', 'scale'].filter((g) => !F.only || F.only.includes(g))
  const runTag = crypto.randomUUID().slice(0, 6)
  for (let round = 0; round < F.rounds; round++) {
    log(`round ${round + 1}/${F.rounds}`)
    for (const g of groups) {
      const list = items.filter((i) => i.group === g)
      const rotated = list.map((_, k) => list[(k + round) % list.length] as Item)
      for (const item of rotated) {
        if (F.settle > 0) await settle(40, F.settle * 1000)
        await item.measure(F.warmup, `${runTag}w${round}${item.row.id.replace(/\W/g, '')}`)
        const s = await item.measure(F.duration, `${runTag}m${round}${item.row.id.replace(/\W/g, '')}`)
        item.row.samples.push(s)
        if (s.note) notes.push(`round ${round + 1}: ${s.note}`)
        log(`  ${item.row.label} [${item.row.cores}]: ${fmtRps(s.rps)} req/s, p50 ${fmtMs(s.p50)} ms, p99 ${fmtMs(s.p99)} ms, other load ${(s.other ?? 0).toFixed(0)}%${s.failures ? `, ${s.failures} failures` : ''}`)
      }
    }
  }

  // ---- extra: the refresh tail and InnoDB's redo log, before and after ----
  // The MySQL refresh load held for --tail-seconds, with the run's larger redo log and then with the database
  // server's own. A main-round measurement (10 s) can end before a small log fills, so this one is held long
  // enough to fill MariaDB's default 96 MB at full speed; InnoDB's checkpoint age is sampled every half second to
  // show whether writers reached the age at which InnoDB makes them wait for page flushing. Before each run InnoDB
  // flushes its dirty pages (bounded: after the scale figure's fills a 2 GB buffer pool can take minutes), so both
  // begin from a near-empty log; the report gives the age each started at. The large log goes first
  // because it is already in place: growing it writes a new log file of that size, which would load the disk
  // during the measurement.
  interface RedoTail { logMb: number; sample: Sample; maxMs: number; startMb: number; peakMb: number; maxAgeMb: number; stalledS: number }
  const redoTails: RedoTail[] = []
  if (oursMy && redoLogBefore !== null && F.tailSeconds > 0 && (!F.only || F.only.includes('refresh'))) {
    const my = oursMy, MB = 1024 * 1024
    log(`extra: the refresh tail: ${F.tailSeconds} s of MySQL refresh grants with a ${F.redoLogMb} MB redo log, then with the server's own ${Math.round(redoLogBefore / MB)} MB`)
    dirtyPagesBefore = await dirtyPagesSettings(MYSQL_URL)
    const ckpt = await checkpointReader(MYSQL_URL)
    try {
      for (const bytes of [F.redoLogMb * MB, redoLogBefore]) {
        await setRedoLog(MYSQL_URL, bytes)
        const inEffect = await redoLogSize(MYSQL_URL)
        await topUp(myRefresh, pool, gotrueMinter(my.url, myEmails))
        await flushDirtyPages(MYSQL_URL, dirtyPagesBefore, 8 * MB, 120_000)
        if (F.settle > 0) await settle(40, F.settle * 1000)
        const start = await ckpt.read() // as the load starts
        const ages: { at: number; age: number; max: number }[] = []
        let running = true
        const sampler = (async () => { while (running) { ages.push({ at: performance.now(), ...(await ckpt.read()) }); await Bun.sleep(500) } })()
        const w = cpuWindow([my.pid, ...(dbServerPid ? [dbServerPid] : [])])
        const res = await wrk({ url: `${my.url}/token`, script: 'refresh.lua', threads: F.threads, connections: C, seconds: F.tailSeconds, args: { threads: F.threads, file: myRefresh } })
        running = false
        await sampler
        const sample = sampleOf(res, `refresh tail, ${Math.round(bytes / MB)} MB redo log`, w.stop(res.cpuMs).other)
        if (sample.note) notes.push(sample.note)
        const peak = Math.max(...ages.map((a) => a.age)), maxAge = Math.max(...ages.map((a) => a.max))
        // Time from each sample to the next that the age stood within 5 % of the ceiling: writers were (about to be) held.
        let stalledMs = 0
        for (const [k, next] of ages.slice(1).entries()) {
          const here = ages[k] as (typeof ages)[number] // the sample before `next`
          if (here.age >= 0.95 * here.max) stalledMs += next.at - here.at
        }
        const stalled = stalledMs / 1000
        const r: RedoTail = { logMb: Math.round(inEffect / MB), sample, maxMs: res.max_us / 1000, startMb: start.age / MB, peakMb: peak / MB, maxAgeMb: maxAge / MB, stalledS: stalled }
        redoTails.push(r)
        log(`  redo log ${r.logMb} MB: ${fmtRps(sample.rps)} req/s, p50 ${fmtMs(sample.p50)} ms, p99 ${fmtMs(sample.p99)} ms, max ${fmtMs(r.maxMs)} ms; checkpoint age ${r.startMb.toFixed(0)} → peak ${r.peakMb.toFixed(0)} MB of ${r.maxAgeMb.toFixed(0)} MB`)
      }
    } finally { await ckpt.close() }
  }

  // ---- extra: memory and cold start ----
  const rssAfterLoad = rssMb(ours.pid)
  log(`extra: cold start (${F.coldStarts}× restart on the migrated database, ${F.coldStarts}× first boot on a fresh SQLite file)`)
  const restart: number[] = [], firstBoot: number[] = [], idleRss: number[] = [], idleAnon: number[] = [], idleBun: number[] = []
  for (let i = 0; i < F.coldStarts; i++) {
    for (const fresh of [false, true]) {
      const t0 = performance.now()
      const p = startGotrue(`cold-${fresh ? 'fresh' : 'restart'}-${i}`, '0', 'sqlite', fresh ? join(dir, `fresh-${i}.db`) : oursDb)
      const t = await waitReady(p, '/health', 30_000, t0, 2)
      ;(fresh ? firstBoot : restart).push(t)
      if (!fresh) {
        await Bun.sleep(1000)
        idleRss.push(rssMb(p.pid))
        idleAnon.push(rssMb(p.pid, 'RssAnon'))
        idleBun.push(rssOfFileMb(p.pid, process.execPath))
      }
      await stop(p)
    }
  }

  // ---- results ----
  const finished = new Date()
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  const S = (id: string) => summarize(rows.find((r) => r.id === id))
  const R = (a: string, b: string) => ratio(rows, a, b)
  const t = (name: string, value: number, required: string, ok: (v: number) => boolean, fmt: (v: number) => string = fmtRatio, why?: string): Target =>
    ({ name, figure: Number.isFinite(value) ? fmt(value) : 'n/a', required, met: Number.isFinite(value) ? ok(value) : null, why: Number.isFinite(value) ? undefined : why })
  const oursP = S('password.ours'), ours2P = S('password.ours2'), oursS = S('signup.ours'), ours2S = S('signup.ours2')
  const rawScale = R('password.bcrypt2', 'password.bcrypt1')
  const scaleNote = `raw bcrypt itself scaled ${fmtRatio(rawScale)} from one core to two in this run`
  const targets: Target[] = [
    t('GET /user ÷ sync-HS256 + SQLite ceiling (bare Bun.serve)', R('user.ours', 'user.bun'), '≥ 0.85', (v) => v >= 0.85),
    t('GET /user with ES256 tokens ÷ with HS256 tokens', R('user.es256', 'user.ours'), '≥ 0.7', (v) => v >= 0.7),
    t('GET /user with EdDSA tokens ÷ with HS256 tokens', R('user.eddsa', 'user.ours'), '≥ 0.7', (v) => v >= 0.7),
    t('GET /user ÷ better-auth get-session', R('user.ours', 'user.peer'), '≥ 10×', (v) => v >= 10, fmtRatio, 'peer not run'),
    t('refresh grant ÷ bare refresh ceiling', R('refresh.ours', 'refresh.ceiling'), '≥ 0.6', (v) => v >= 0.6),
    t('password grant ÷ raw bcrypt (one core)', R('password.ours', 'password.bcrypt1'), '≥ 0.9', (v) => v >= 0.9),
    t('signup ÷ raw bcrypt (one core)', R('signup.ours', 'password.bcrypt1'), '≥ 0.9', (v) => v >= 0.9),
    { ...t('hashing pool on two cores: password grant 2 cores ÷ 1 core', ours2P && oursP ? ours2P.rps / oursP.rps : NaN, '≥ 1.8×', (v) => v >= 1.8), why: scaleNote },
    { ...t('hashing pool on two cores: signup 2 cores ÷ 1 core', ours2S && oursS ? ours2S.rps / oursS.rps : NaN, '≥ 1.8×', (v) => v >= 1.8), why: scaleNote },
    t('GET /user p99 during a login flood (two cores)', flood2.during.p99 ?? NaN, '< 20 ms', (v) => v < 20, (v) => `${fmtMs(v)} ms`),
    t('MySQL GET /user ÷ SQLite GET /user', F.mysql ? R('user.mysql', 'user.ours') : NaN, '≥ 0.6', (v) => v >= 0.6, fmtRatio, 'run with --mysql'),
    t('MySQL refresh ÷ SQLite refresh', F.mysql ? R('refresh.mysql', 'refresh.ours') : NaN, '≥ 0.5', (v) => v >= 0.5, fmtRatio, 'run with --mysql'),
    t(`MySQL refresh grant p99 (${C} connections, median of the rounds)`, F.mysql ? S('refresh.mysql')?.p99 ?? NaN : NaN, '≤ 50 ms', (v) => v <= 50, (v) => `${fmtMs(v)} ms`, 'run with --mysql'),
    // No target is set for Galera: the figures say what certification by three nodes costs on one machine.
    ...(['user', 'refresh'] as const).map((what) => {
      const v = F.galera ? R(`${what}.galera`, `${what}.mysql`) : NaN
      return { name: `Galera ${what === 'user' ? 'GET /user' : 'refresh'} ÷ MySQL ${what === 'user' ? 'GET /user' : 'refresh'} (three nodes on this machine)`,
        figure: Number.isFinite(v) ? fmtRatio(v) : 'n/a', required: '– (no target)', met: null, informational: Number.isFinite(v), why: Number.isFinite(v) ? undefined : 'run with --galera' } satisfies Target
    }),
    ...(['sqlite', 'mysql'] as const).flatMap((d) => (['user', 'refresh'] as const).map((what) => {
      const name = `${what === 'user' ? 'GET /user' : 'refresh grant'} at ${F.scale ? F.scale.toLocaleString('en-US') : 'N'} users ÷ at 1,000 users, ${d === 'sqlite' ? 'SQLite' : 'MySQL'} (req/s; flat = ≥ 0.9)`
      const measured = scaleSets.some((x) => x.driver === d)
      return t(name, measured ? R(`scale.${d}.${what}.big`, `scale.${d}.${what}.small`) : NaN, '≥ 0.9', (v) => v >= 0.9, fmtRatio,
        !F.scale ? 'run without --no-scale' : 'run with --mysql')
    })),
    t('idle RSS after start', median(idleRss), '≤ 60 MB', (v) => v <= 60, (v) => `${v.toFixed(1)} MB`),
    t('cold start to first answered /health (restart, migrated DB)', median(restart), '≤ 300 ms', (v) => v <= 300, (v) => `${v.toFixed(0)} ms`),
  ]

  const cpu = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? '?').trim()
  const pkg = (name: string, base = ROOT) => { try { return JSON.parse(readFileSync(join(base, 'node_modules', name, 'package.json'), 'utf8')).version as string } catch { return '?' } }
  const { Database } = await import('bun:sqlite')
  const sqliteVersion = (new Database(':memory:').query('select sqlite_version() as v').get() as { v: string }).v
  const sections: Section[] = [
    { title: 'GET /user (bearer JWT)', blurb: `${C} connections, ${F.threads} wrk threads; ${F.users} accounts, each request the next account's token.`, rows: rows.filter((r) => r.id.startsWith('user.')) },
    { title: 'POST /token, refresh grant', blurb: `${C} connections; every refresh token used once, its successor fed back (per-thread queues of ≥ ${pool} tokens).`, rows: rows.filter((r) => r.id.startsWith('refresh.')) },
    { title: 'POST /token, password grant', blurb: `${H} connections, form body, ${F.users} accounts in turn; bcrypt cost ${F.cost}. The two-core rows compare with each other.`, rows: rows.filter((r) => r.id.startsWith('password.')) },
    ...(scaleSets.length ? [{ title: `Scale: 1,000 users vs ${F.scale.toLocaleString('en-US')} users`, blurb: `${C} connections; the same build on a database of 1,000 users and on a copy grown to ` +
      `${F.scale.toLocaleString('en-US')} (${F.users} accounts made through the API, the rest filler rows written with SQL, each with one live refresh token; see bench/scale.ts). ` +
      `Ratio column: the big database ÷ the small one. ${scaleSets.map((x) => x.counts).join('; ')}.`, rows: rows.filter((r) => r.id.startsWith('scale.')) }] : []),
    { title: 'POST /signup', blurb: `${H} connections, a unique email per request (autoconfirm on); bcrypt cost ${F.cost}. Raw bcrypt: see the password grant table.`, rows: [...rows.filter((r) => r.id.startsWith('signup.')), ...rows.filter((r) => r.id.startsWith('password.bcrypt')).map((r) => ({ ...r, vs: r.id === 'password.bcrypt1' ? 'signup.ours' : 'signup.ours2' }))] },
  ]
  const floodLine = (f: typeof flood2) => `| ${f.label} | ${fmtRps(f.alone.rps)} | ${fmtMs(f.alone.p50)} | ${fmtMs(f.alone.p99)} | ${fmtRps(f.during.rps)} | ${fmtMs(f.during.p50)} | ${fmtMs(f.during.p99)} | ${fmtRps(f.logins.rps)} | ${f.alone.failures + f.during.failures + f.logins.failures} | ${(f.during.other ?? 0).toFixed(0)}% |`
  const md = [
    '# Benchmark results', '',
    `Generated by \`bun run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}\` on ${started.toISOString()} (${((finished.getTime() - started.getTime()) / 60000).toFixed(1)} min). ` +
      'Absolute numbers on a shared machine swing; the ratios from one run are what count.', '',
    '## Machine and versions', '',
    `- machine: \`nproc\` = ${(await run(['nproc'])).out.trim()}, CPU: ${cpu}; load average ${load0} at the start, ${load1} at the end (other work on this machine competes with the run)`,
    `- Bun ${Bun.version}, SQLite ${sqliteVersion}${F.mysql ? `, ${await mysqlVersion(MYSQL_URL)}` : ''}${galeraVersion ? ` (Galera nodes: ${galeraVersion}, galera-4)` : ''}, ${wrkVersion}`,
    `- project ${git}${dirty ? ` (+${dirty} modified tracked files)` : ''} at the start of the run: elysia ${pkg('elysia')}, jose ${pkg('jose')}, mysql2 ${pkg('mysql2')}; peer: better-auth ${betterAuthVersion}`,
    `- protocol: servers on core 0 (\`taskset -c 0\`), wrk on core 1 (\`taskset -c 1\`), loopback; ${F.rounds} round(s), targets interleaved and rotated each round; ` +
      `warm-up ${F.warmup} s then ${F.duration} s per measurement; medians over rounds (req/s, p50, p99 each); "failures" = non-2xx + socket errors over all rounds.`,
    `- our server: \`bun bin/gotrue.ts serve\` with a temp SQLite file${F.mysql ? ` (and with --mysql the same build on MySQL: ${MYSQL_URL.replace(/\/\/[^@]*@/, '//…@')}, random table namespaces dropped afterwards)` : ''}, ` +
      `GOTRUE_BCRYPT_COST=${F.cost}, autoconfirm, rate limits off, log level error. "two cores" = the same build started with \`taskset -c 0,1\`, sharing core 1 with wrk.` +
      (F.mysql ? (dbAffinity ? ` The database server was pinned to core ${F.dbCore} (with wrk) for the run, as if on its own host; its CPU is not counted as other load.`
        : ' The database server was not pinned (it ran where the OS put it, competing with our server and wrk); its CPU is not counted as other load.') +
        (F.dbPool > 0 ? ` Our server on MySQL ran with GOTRUE_DB_POOL_SIZE=${F.dbPool} (the server's default is 10; docs/scaling.md has the refresh grant with pools of 8 to 32 connections).` : ' Our server on MySQL ran with the default GOTRUE_DB_POOL_SIZE (10).') +
        (bufferPoolBefore !== null ? ` InnoDB's buffer pool was ${F.bufferPoolMb} MB for the run (the server's own setting, ${Math.round(bufferPoolBefore / 1048576)} MB, restored afterwards).` : '') +
        (redoLogBefore !== null ? ` Its redo log (innodb_log_file_size) was ${F.redoLogMb} MB for the run (the server's own, ${Math.round(redoLogBefore / 1048576)} MB, restored afterwards).` : '') +
        (redoPerRefresh.length ? ` Redo written per refresh grant on MySQL: ${(median(redoPerRefresh) / 1024).toFixed(1)} KB (median of ${redoPerRefresh.length} measurements; InnoDB's LSN over the measurement ÷ its requests).` : '') : '') +
      (F.galera ? ` With --galera the same build on node 1 (${GALERA_URL.replace(/\/\/[^@]*@/, '//…@')}) of a three-node MariaDB Galera cluster started for the run by tests/fixtures/galera.sh ` +
        `(all three nodes on this machine${F.dbCore !== 'none' ? `, pinned to core ${F.dbCore} with wrk` : ''}; their CPU is not counted as other load in the Galera rows; ` +
        'the fixture\'s settings: 64 MB buffer pool, innodb_flush_log_at_trx_commit=2, 2 applier threads), stopped and removed afterwards. ' +
        'Galera ÷ MySQL shows what certifying every commit on three nodes costs, not scale-out.' : ''),
    '', '## Throughput and latency', '',
    ...sections.flatMap((s) => [sectionTable(s, rows), '']),
    '## Extra figures', '',
    `GET /user paced (4 connections, 5 ms between requests on each: ≤ 800 req/s) alone, then while ${2 * H} connections flood POST /token with password grants (both wrk on core 1):`, '',
    '| server | alone req/s | alone p50 ms | alone p99 ms | flood req/s | flood p50 ms | flood p99 ms | logins/s | failures | other load (flood) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    floodLine(flood2), floodLine(flood1), '',
    ...(redoTails.length ? [`The refresh tail and InnoDB's redo log: the MySQL refresh grant (${C} connections) held for ${F.tailSeconds} s with the run's redo log ` +
      '(innodb_log_file_size) and then with the database server\'s own (the order they ran in); before each run InnoDB is made to flush its dirty pages until the checkpoint age is below 8 MB or 2 minutes have passed ("start" is the age as the load began). "checkpoint age" is the redo written since the last ' +
      'checkpoint, sampled every 0.5 s; at its ceiling (Innodb_checkpoint_max_age) InnoDB holds writers until pages are flushed. "at the ceiling" is the time the samples found it within 5 % of the ceiling. "redo log" is the size in effect.', '',
      '| redo log | req/s | p50 ms | p99 ms | max ms | failures | checkpoint age: start → peak (ceiling) | at the ceiling | other load |',
      '|---:|---:|---:|---:|---:|---:|---|---:|---:|',
      ...redoTails.map((r) => `| ${r.logMb} MB | ${fmtRps(r.sample.rps)} | ${fmtMs(r.sample.p50)} | ${fmtMs(r.sample.p99)} | ${fmtMs(r.maxMs)} | ${r.sample.failures} | ` +
        `${r.startMb.toFixed(0)} → ${r.peakMb.toFixed(0)} MB (${r.maxAgeMb.toFixed(0)} MB) | ${r.stalledS.toFixed(1)} s | ${(r.sample.other ?? 0).toFixed(0)}% |`), ''] : []),
    `- idle RSS (VmRSS) 1 s after start: median ${median(idleRss).toFixed(1)} MB over ${idleRss.length} starts, of which ${median(idleAnon).toFixed(1)} MB anonymous memory (heap, JIT code, ` +
      `malloc) and ${median(idleBun).toFixed(1)} MB pages of the Bun executable itself (${process.execPath}; file-backed, shared by every Bun process) (the benchmarked server: ${idleRssAfterStart.toFixed(1)} MB after start, ${rssAfterLoad.toFixed(1)} MB after all the load)`,
    `- cold start, spawn to first answered GET /health: restart on the migrated database median ${median(restart).toFixed(0)} ms (${restart.map((x) => x.toFixed(0)).join(', ')}); ` +
      `first boot on a fresh SQLite file incl. migrations median ${median(firstBoot).toFixed(0)} ms (${firstBoot.map((x) => x.toFixed(0)).join(', ')})`,
    '', '## Targets', '', targetsTable(targets), '',
    '## Notes', '',
    '- The peer hashes passwords with scrypt (N=16384, r=16, via node:crypto), better-auth\'s default, not bcrypt: its sign-in and sign-up rows compare the defaults a team gets, not equal work.',
    '- The refresh ceiling joins the user row in its lookup (the access token carries the email and metadata); it writes no audit rows, which our refresh grant does (two per refresh).',
    '- Raw bcrypt rows are hashes/s of `Bun.password.hash`; the password grant verifies (same cost), signup hashes.',
    `- wrk used at most ${wrkPeak.toFixed(0)}% of core 1 in any run, so the load generator was not the limit${wrkPeak > 85 ? ' (⚠ close to it: the fastest rows may be understated)' : ''}.`,
    '- "other load": CPU used by other work on this machine during the measurement (machine busy time from /proc/stat, steal included, minus the benchmark\'s own processes), in % of one core. Before each measurement the harness waits up to ' +
      `${F.settle} s for the machine to quiet down (--settle).`,
    ...notes.map((n) => `- ${n.replace(/\n/g, ' ')}`),
    '',
  ].join('\n')
  console.log(`\n${md}`)
  if (OUT) { writeFileSync(OUT, md); log(`wrote ${OUT}`) }
}

try {
  await main()
} catch (e) {
  failed = true
  console.error(`bench: failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`)
  for (const name of ['gotrue-1core', 'gotrue-2cores']) {
    const p = join(dir, `${name}.log`)
    if (existsSync(p)) console.error(`--- ${name}.log (tail) ---\n${logTail({ log: p } as Proc)}`)
  }
  process.exitCode = 1
} finally {
  clearTimeout(guard)
  await cleanup()
  process.exit(process.exitCode ?? 0)
}
