// Three `gotrue serve` processes, each on its own node of a three-node MariaDB Galera cluster
// (tests/fixtures/galera.sh; `bun run test:galera` starts it and sets TEST_GALERA_URLS), one Redis. Galera is
// multi-primary: a row lock does not reach the other nodes, the later of two conflicting commits fails at
// certification (ER_LOCK_DEADLOCK at COMMIT), and a node can leave at any moment. Without the cluster the file
// reports itself skipped. The file is named *.galera.ts so that plain `bun test` (the SQLite and MySQL passes)
// never collects it; the Galera pass names it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../lib/crypto.ts'
import { type Db } from '../../lib/db/index.ts'
import { openMysql } from '../../lib/db/mysql.ts'
import { body, dropNamespace, JWT_SECRET, REDIS_URL, redisProblem } from '../harness.ts'

const URLS = (process.env.TEST_GALERA_URLS ?? '').split(/\s+/).filter(Boolean)
const FIXTURE = join(import.meta.dir, '..', 'fixtures', 'galera.sh')
const GOTRUE = join(import.meta.dir, '..', '..', 'bin', 'gotrue.ts')
const uid = () => crypto.randomUUID().slice(0, 8)
const client = () => `198.51.100.${uid()}`

const running = new Set<Subprocess>()
process.on('exit', () => { for (const p of running) p.kill('SIGKILL') })

interface Node { url: string; proc: Subprocess; logFile: string }
interface Session { access_token: string; refresh_token: string }

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  return port
}

function spawnNode(env: Record<string, string | undefined>, dir: string, name: string, databaseUrl: string): Node {
  const port = freePort()
  const logFile = join(dir, `${name}.log`)
  const proc = Bun.spawn([process.execPath, GOTRUE, 'serve'], {
    cwd: dir, env: { ...env, DATABASE_URL: databaseUrl, PORT: String(port) }, stdin: 'ignore', stdout: Bun.file(logFile), stderr: Bun.file(logFile),
  })
  running.add(proc)
  return { url: `http://127.0.0.1:${port}`, proc, logFile }
}

async function waitReady(node: Node, timeoutMs = 60_000): Promise<void> {
  const log = () => { try { return readFileSync(node.logFile, 'utf8').slice(-2000) } catch { return '' } }
  for (const until = Date.now() + timeoutMs; Date.now() < until; await Bun.sleep(100)) {
    if (node.proc.exitCode !== null) throw new Error(`node ${node.url} exited with ${node.proc.exitCode}: ${log()}`)
    const res = await fetch(`${node.url}/health/ready`).catch(() => null)
    if (res?.status === 200) return
  }
  throw new Error(`node ${node.url} not ready after ${timeoutMs} ms: ${log()}`)
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node) return
  node.proc.kill('SIGTERM')
  const timer = setTimeout(() => node.proc.kill('SIGKILL'), 5000)
  await node.proc.exited
  clearTimeout(timer)
  running.delete(node.proc)
}

const call = (node: Node, path: string, init: { method?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string>; from?: string } = {}) =>
  fetch(node.url + path, {
    method: init.method ?? (init.json || init.form ? 'POST' : 'GET'),
    headers: {
      'x-client-ip': init.from ?? client(),
      ...(init.json ? { 'content-type': 'application/json' } : init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...init.headers,
    },
    body: init.json ? JSON.stringify(init.json) : init.form ? new URLSearchParams(init.form).toString() : undefined,
  })
const refresh = (node: Node, token: string, from?: string) => call(node, '/token', { form: { grant_type: 'refresh_token', refresh_token: token }, from })
const signup = (node: Node, email: string) => call(node, '/signup', { json: { email, password: 'long-enough-password' } })
const login = (node: Node, email: string) => call(node, '/token', { form: { grant_type: 'password', username: email, password: 'long-enough-password' } })

const fixture = async (...args: string[]) => {
  const p = Bun.spawn(['bash', FIXTURE, ...args], { stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  if (code !== 0) throw new Error(`galera.sh ${args.join(' ')} failed (${code}): ${out}${err}`)
}

const redisDown = await redisProblem(REDIS_URL)

describe.skipIf(URLS.length !== 3)(`three GoTrue nodes on three Galera nodes${URLS.length === 3 ? '' : ' (skipped: TEST_GALERA_URLS unset; run `bun run test:galera`)'}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-galera-'))
  const namespace = `g${uid()}`
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC',
    GOTRUE_DB_DRIVER: 'mysql', GOTRUE_DB_NAMESPACE: namespace, GOTRUE_DB_AUTOMIGRATE: 'true',
    GOTRUE_JWT_SECRET: JWT_SECRET, GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_BCRYPT_COST: '4', GOTRUE_LOG_LEVEL: 'warn',
    GOTRUE_REDIS_URL: REDIS_URL, GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '10',
    GOTRUE_SMTP_OUTBOX_DIR: join(dir, 'outbox'), GOTRUE_DB_QUERY_TIMEOUT: '5',
  }
  let nodes: Node[] = []
  /** A direct connection to each Galera node, to see what each one holds. */
  const dbs: Db[] = URLS.map((u) => openMysql(u, namespace, 4))

  beforeAll(async () => {
    // All three at once on an empty schema: the migrations race for the lock row.
    nodes = URLS.map((u, i) => spawnNode(env, dir, `node${i + 1}`, u))
    await Promise.all(nodes.map((n) => waitReady(n)))
  }, 120_000)
  afterAll(async () => {
    await Promise.all(nodes.map(stopNode))
    await dropNamespace(dbs[0] as Db, namespace).catch(() => {})
    await Promise.all(dbs.map((d) => d.close().catch(() => {})))
    if (process.env.GALERA_DEBUG) console.error(`node logs kept in ${dir}`)
    else rmSync(dir, { recursive: true, force: true })
  })

  test('three nodes migrating one empty schema at once: every migration applied once, the lock row released', async () => {
    for (const db of dbs) {
      const versions = await db.all<{ version: string; n: number }>('SELECT version, COUNT(*) AS n FROM {schema_migrations} GROUP BY version')
      expect(versions.length).toBeGreaterThan(0)
      for (const v of versions) expect(Number(v.n)).toBe(1)
      expect(await db.all('SELECT * FROM {schema_migrations_lock}')).toEqual([])
    }
    for (const n of nodes) expect(readFileSync(n.logFile, 'utf8')).not.toMatch(/already exists|Duplicate/i)
  })

  test('200 concurrent refreshes of one token over the three nodes: every answer 200 with one successor; the family has two rows', async () => {
    const email = `refresh-${uid()}@example.com`
    expect((await signup(nodes[0] as Node, email)).status).toBe(200)
    const { refresh_token: t0 } = await body<Session>(await login(nodes[1] as Node, email))
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => refresh(nodes[i % 3] as Node, t0)))
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s !== 200)).toEqual([])
    const successors = new Set((await Promise.all(answers.map((r) => body<Session>(r)))).map((s) => s.refresh_token))
    expect(successors.size).toBe(1)
    const t1 = [...successors][0] as string
    expect(t1).not.toBe(t0)
    for (const db of dbs) {
      const family = await db.all<{ token_hash: string; revoked: number }>(
        'SELECT token_hash, revoked FROM {refresh_tokens} WHERE family_id = (SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?)', [sha256(t0)])
      expect(family.map((r) => [r.token_hash, Number(r.revoked)]).sort()).toEqual([[sha256(t0), 1], [sha256(t1), 0]].sort())
    }
  }, 60_000)

  test('50 concurrent signups of one email over the three nodes: one user, no 5xx', async () => {
    const email = `race-${uid()}@example.com`
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => signup(nodes[i % 3] as Node, email)))
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1)
    for (const db of dbs) {
      const n = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM {users} WHERE email = ?', [email])
      expect(Number(n?.n)).toBe(1)
    }
  }, 60_000)

  test.skipIf(redisDown !== null)('a refresh limit of 10 per client holds across the three nodes through Redis: 30 tries, 10 allowed', async () => {
    const from = client()
    const answers = []
    for (let i = 0; i < 30; i++) answers.push((await call(nodes[i % 3] as Node, '/token', { form: { grant_type: 'refresh_token', refresh_token: 'nope' }, from })).status)
    expect(answers.filter((s) => s !== 429).length).toBe(10)
    expect(answers.slice(10).every((s) => s === 429)).toBe(true)
  })

  test('Galera node 3 SIGKILLed under signup/refresh load: its GoTrue node answers 503 within a second and is not ready, the others keep serving, a multi-host DATABASE_URL fails over; after the rejoin every acknowledged write is on all three nodes', async () => {
    // A fourth GoTrue node lists node 3 first and node 2 second: it must move to node 2.
    const third = URLS[2] as string, second = URLS[1] as string
    const multi = third.replace(/@([^/]+)\//, (_, hp) => `@${hp},${new URL(second).host}/`)
    const failover = spawnNode(env, dir, 'failover', multi)
    await waitReady(failover)
    const all = [...nodes, failover]
    const acked = { emails: [] as string[], tokens: [] as string[] }
    const ackedBy: Record<string, number> = {}
    const fiveHundreds: Record<string, number[]> = {}
    let stop = false
    const worker = async (node: Node, name: string) => {
      const email = `load-${uid()}@example.com`
      let token: string | null = null
      while (!stop) {
        const e = `load-${uid()}@example.com`
        const t0 = performance.now()
        const s = await signup(node, e).catch(() => null)
        if (process.env.GALERA_DEBUG && performance.now() - t0 > 1000) console.error(`${name} signup took ${Math.round(performance.now() - t0)} ms: ${s?.status} at ${new Date().toISOString()}`)
        if (s?.status === 200) { acked.emails.push(e); ackedBy[name] = (ackedBy[name] ?? 0) + 1 }
        else if (s && s.status >= 500) (fiveHundreds[name] ??= []).push(s.status)
        if (!token) {
          const r = await signup(node, email).catch(() => null)
          if (r?.status === 200) { const l = await login(node, email).catch(() => null); if (l?.status === 200) token = (await body<Session>(l)).refresh_token }
          continue
        }
        const t1 = performance.now()
        const r = await refresh(node, token).catch(() => null)
        if (process.env.GALERA_DEBUG && performance.now() - t1 > 1000) console.error(`${name} refresh took ${Math.round(performance.now() - t1)} ms: ${r?.status} at ${new Date().toISOString()}`)
        if (r?.status === 200) { token = (await body<Session>(r)).refresh_token; acked.tokens.push(token) }
        else if (r && r.status >= 500) (fiveHundreds[name] ??= []).push(r.status)
        await Bun.sleep(5)
      }
    }
    const load = all.map((n, i) => worker(n, i === 3 ? 'failover' : `node${i + 1}`))
    await Bun.sleep(1500)
    await fixture('kill', '3')
    const killedAt = performance.now() // the fixture returns once the process is gone
    // The GoTrue node on the dead database: a 503 (not a hang, not a 500) within a second, and not ready.
    const r503 = await signup(nodes[2] as Node, `dead-${uid()}@example.com`)
    expect(r503.status).toBe(503)
    let ready = 200
    while (ready === 200 && performance.now() - killedAt < 3000) { ready = (await fetch(`${(nodes[2] as Node).url}/health/ready`)).status; if (ready === 200) await Bun.sleep(50) }
    expect(ready).toBe(503)
    expect(performance.now() - killedAt).toBeLessThan(1000 + 250) // the readiness answer is cached for up to a second
    // Galera holds every commit until the dead member is evicted (evs.suspect_timeout, 2 s in the fixture, plus
    // the new view): the survivors' writes wait, they do not fail. Past that window they run again.
    const evicted = performance.now()
    for (const n of [nodes[0], nodes[1], failover] as Node[]) {
      while ((await signup(n, `after-${uid()}@example.com`)).status !== 200 && performance.now() - evicted < 10_000) await Bun.sleep(100)
    }
    const before = { ...ackedBy }
    await Bun.sleep(3000)
    // The other nodes (and the one that failed over) kept writing while node 3 was down.
    for (const name of ['node1', 'node2', 'failover']) expect({ name, more: (ackedBy[name] ?? 0) > (before[name] ?? 0) }).toEqual({ name, more: true })
    for (const n of [nodes[0], nodes[1], failover] as Node[]) {
      expect((await signup(n, `alive-${uid()}@example.com`)).status).toBe(200)
    }
    await fixture('rejoin', '3')
    stop = true
    await Promise.all(load)
    await waitReady(nodes[2] as Node, 20_000)
    const errors = (n: Node) => readFileSync(n.logFile, 'utf8').split('\n').filter((l) => /"level":"error"|error/i.test(l)).slice(-5).join('\n')
    expect({ statuses: fiveHundreds.node1 ?? [], log: (fiveHundreds.node1 ?? []).length ? errors(nodes[0] as Node) : '' }).toEqual({ statuses: [], log: '' })
    expect({ statuses: fiveHundreds.node2 ?? [], log: (fiveHundreds.node2 ?? []).length ? errors(nodes[1] as Node) : '' }).toEqual({ statuses: [], log: '' })
    // After the rejoin: every acknowledged write on every node, and the three nodes hold the same rows.
    const fresh = URLS.map((u) => openMysql(u, namespace, 2))
    try {
      const snapshots: string[] = []
      for (const db of fresh) {
        const emails = new Set((await db.all<{ email: string }>('SELECT email FROM {users}')).map((r) => r.email))
        for (const e of acked.emails) expect(emails.has(e)).toBe(true)
        const hashes = new Set((await db.all<{ token_hash: string }>('SELECT token_hash FROM {refresh_tokens}')).map((r) => r.token_hash))
        for (const t of acked.tokens) expect(hashes.has(sha256(t))).toBe(true)
        // Nothing half-written: no refresh token without its session, no identity without its user.
        expect(await db.all('SELECT r.id FROM {refresh_tokens} r LEFT JOIN {sessions} s ON s.id = r.family_id WHERE s.id IS NULL')).toEqual([])
        expect(await db.all('SELECT i.id FROM {identities} i LEFT JOIN {users} u ON u.id = i.user_id WHERE u.id IS NULL')).toEqual([])
        const users = await db.all<{ id: string }>('SELECT id FROM {users} ORDER BY id')
        const tokens = await db.all<{ id: string; revoked: number }>('SELECT id, revoked FROM {refresh_tokens} ORDER BY id')
        snapshots.push(JSON.stringify([users, tokens.map((t) => [t.id, Number(t.revoked)])]))
      }
      expect(snapshots[1]).toBe(snapshots[0] as string)
      expect(snapshots[2]).toBe(snapshots[0] as string)
    } finally {
      await Promise.all(fresh.map((d) => d.close()))
      await stopNode(failover)
    }
  }, 120_000)
})
