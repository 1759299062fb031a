// Scale-out: real `gotrue serve` processes on one database (MySQL when TEST_MYSQL_URL is set, else one SQLite
// file shared by the processes) and one Redis. Whatever node a request lands on, the user, the access token,
// the refresh token and the rate-limit counts are the same. The processes are killed in afterAll, and on exit
// of the test runner as a last resort, so none is left behind when a test fails.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Subprocess } from 'bun'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Env, loadConfig } from '../lib/config.ts'
import { sha256 } from '../lib/crypto.ts'
import { type Db, openDb } from '../lib/db/index.ts'
import { body, JWT_SECRET, MYSQL_URL, dropNamespace, REDIS_URL, redisProblem } from './harness.ts'

const GOTRUE = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const uid = () => crypto.randomUUID().slice(0, 8)
const client = () => `198.51.100.${uid()}` // every request names a fresh client unless a test means one

const running = new Set<Subprocess>()
process.on('exit', () => { for (const p of running) p.kill('SIGKILL') })

interface Node { url: string; proc: Subprocess; logFile: string }

/** One cluster's shared settings: a temp folder, a database of its own, the node environment. */
function cluster() {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-scaleout-'))
  const namespace = `s${uid()}`
  const env: Env = {
    PATH: process.env.PATH, HOME: process.env.HOME, TZ: 'UTC',
    GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_JWT_SECRET: JWT_SECRET, GOTRUE_MAILER_AUTOCONFIRM: 'true',
    GOTRUE_REDIS_URL: REDIS_URL, GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP', GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '10',
    GOTRUE_BCRYPT_COST: '4', GOTRUE_LOG_LEVEL: 'warn', GOTRUE_SMTP_OUTBOX_DIR: join(dir, 'outbox'),
    ...(MYSQL_URL
      ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: namespace }
      : { GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db') }),
  }
  let db: Db | null = null
  return {
    dir, env,
    /** The database as the nodes see it (opened once they have migrated it). */
    async db(): Promise<Db> { return (db ??= await openDb(loadConfig({ env, cwd: dir }))) },
    /** Drops the MySQL namespace (or the SQLite file with the folder). */
    async remove() {
      const d = db ?? (MYSQL_URL ? await openDb(loadConfig({ env, cwd: dir })) : null)
      if (d?.dialect === 'mysql') {
        await dropNamespace(d, namespace)
      }
      await d?.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  return port
}

function spawnNode(env: Env, dir: string, name: string): Node {
  const port = freePort()
  const logFile = join(dir, `${name}.log`)
  const proc = Bun.spawn([process.execPath, GOTRUE, 'serve'], {
    cwd: dir, env: { ...env, PORT: String(port) }, stdin: 'ignore', stdout: Bun.file(logFile), stderr: Bun.file(logFile),
  })
  running.add(proc)
  return { url: `http://127.0.0.1:${port}`, proc, logFile }
}

async function waitHealthy(node: Node, timeoutMs = 20_000): Promise<void> {
  const log = () => { try { return readFileSync(node.logFile, 'utf8').slice(-1500) } catch { return '' } }
  for (const until = Date.now() + timeoutMs; Date.now() < until; await Bun.sleep(100)) {
    if (node.proc.exitCode !== null) throw new Error(`node ${node.url} exited with ${node.proc.exitCode}: ${log()}`)
    const res = await fetch(`${node.url}/health`).catch(() => null)
    if (res?.status === 200) return
  }
  throw new Error(`node ${node.url} not healthy after ${timeoutMs} ms: ${log()}`)
}

async function stopNode(node: Node | undefined): Promise<void> {
  if (!node) return
  node.proc.kill('SIGTERM')
  const timer = setTimeout(() => node.proc.kill('SIGKILL'), 5000)
  await node.proc.exited
  clearTimeout(timer)
  running.delete(node.proc)
}

const redisDown = await redisProblem(REDIS_URL)
const skipRedis = redisDown !== null && !process.env.CI // CI starts Redis: there it must be up

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

interface Session { access_token: string; refresh_token: string }
const refresh = (node: Node, token: string, from?: string) => call(node, '/token', { form: { grant_type: 'refresh_token', refresh_token: token }, from })

describe(`two server processes, one ${MYSQL_URL ? 'MySQL database' : 'SQLite file'}, one Redis`, () => {
  const c = cluster()
  let a: Node, b: Node
  beforeAll(async () => {
    a = spawnNode(c.env, c.dir, 'a')
    await waitHealthy(a)
    b = spawnNode(c.env, c.dir, 'b') // migrates too: finds nothing pending
    await waitHealthy(b)
  }, 60_000)
  afterAll(async () => {
    await Promise.all([stopNode(a), stopNode(b)])
    await c.remove()
  })

  /** A user signed up (autoconfirmed) on `node`. */
  async function user(node: Node) {
    const email = `node-${uid()}@example.com`, password = 'long-enough-password'
    const res = await call(node, '/signup', { json: { email, password } })
    expect(res.status).toBe(200)
    expect((await body(res)).confirmed_at).toEqual(expect.any(String))
    return { email, password }
  }
  const login = (node: Node, u: { email: string; password: string }) =>
    call(node, '/token', { form: { grant_type: 'password', username: u.email, password: u.password } })

  test('a user signed up on node A logs in on node B', async () => {
    const u = await user(a)
    const res = await login(b, u)
    expect(res.status).toBe(200)
    expect(await body(res)).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), refresh_token: expect.any(String) })
  })

  test('an access token minted on A is accepted by GET /user on B', async () => {
    const u = await user(a)
    const { access_token } = await body<Session>(await login(a, u))
    const res = await call(b, '/user', { headers: { authorization: `Bearer ${access_token}` } })
    expect(res.status).toBe(200)
    expect((await body(res)).email).toBe(u.email)
  })

  test('a session ended on A: B refuses its access token within a second, though B had verified (and cached) it', async () => {
    const u = await user(a)
    const phone = await body<Session>(await login(a, u))
    const laptop = await body<Session>(await login(b, u))
    const auth = { authorization: `Bearer ${phone.access_token}` }
    expect((await call(b, '/user', { headers: auth })).status).toBe(200)
    const sessionId = JSON.parse(Buffer.from(phone.access_token.split('.')[1] ?? '', 'base64url').toString()).session_id as string
    const ended = await call(a, `/user/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: `Bearer ${laptop.access_token}` } })
    expect(ended.status).toBe(204)
    const started = performance.now()
    let status = 200
    while (status === 200 && performance.now() - started < 3000) {
      status = (await call(b, '/user', { headers: auth })).status
      if (status === 200) await Bun.sleep(20)
    }
    expect(status).toBe(401)
    expect(performance.now() - started).toBeLessThan(1000)
    expect((await call(a, '/user', { headers: auth })).status).toBe(401) // and at once on the node that ended it
    expect((await call(b, '/user', { headers: { authorization: `Bearer ${laptop.access_token}` } })).status).toBe(200)
  })

  test('a refresh token issued by A is rotated by B; replaying it on A within the grace interval gets B\'s successor', async () => {
    const u = await user(b)
    const { refresh_token: t0 } = await body<Session>(await login(a, u))
    const rotated = await refresh(b, t0)
    expect(rotated.status).toBe(200)
    const t1 = (await body<Session>(rotated)).refresh_token
    expect(t1).not.toBe(t0)
    const replay = await refresh(a, t0)
    expect(replay.status).toBe(200)
    expect((await body<Session>(replay)).refresh_token).toBe(t1)
    expect((await refresh(a, t1)).status).toBe(200)
  })

  test('40 concurrent refreshes of one token split across both nodes: all 200 with one successor; the family has two rows', async () => {
    const u = await user(a)
    const { refresh_token: t0 } = await body<Session>(await login(b, u))
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => refresh(i % 2 ? a : b, t0)))
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200))
    const successors = new Set((await Promise.all(answers.map((r) => body<Session>(r)))).map((s) => s.refresh_token))
    expect(successors.size).toBe(1)
    expect(successors.has(t0)).toBe(false)
    const db = await c.db()
    const family = await db.all<{ token_hash: string; revoked: number }>(
      'SELECT token_hash, revoked FROM {refresh_tokens} WHERE family_id = (SELECT family_id FROM {refresh_tokens} WHERE token_hash = ?)', [sha256(t0)])
    expect(family.map((r) => [r.token_hash, Number(r.revoked)]).sort()).toEqual(
      [[sha256(t0), 1], [sha256([...successors][0] as string), 0]].sort())
  })

  test.skipIf(skipRedis)(`rate limits add up across nodes through Redis: 6 on A and 5 on B with a limit of 10, the 11th is 429${skipRedis ? ` (skipped: no Redis at ${REDIS_URL}: ${redisDown})` : ''}`, async () => {
    expect(redisDown).toBeNull()
    const from = client()
    const nope = (node: Node) => call(node, '/token', { form: { grant_type: 'nope' }, from })
    for (const node of [a, a, a, a, a, a, b, b, b, b]) {
      const res = await nope(node)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ error: 'unsupported_grant_type' })
    }
    const limited = await nope(b)
    expect(limited.status).toBe(429)
    expect(await body(limited)).toEqual({ code: 429, msg: 'Rate limit exceeded' })
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(300)
    expect((await nope(a)).status).toBe(429)
    expect((await call(a, '/token', { form: { grant_type: 'nope' } })).status).toBe(400) // another client
  })
})

describe('three nodes booting at once against an empty database (GOTRUE_DB_AUTOMIGRATE on each)', () => {
  const c = cluster()
  const nodes: Node[] = []
  afterAll(async () => {
    await Promise.all(nodes.map(stopNode))
    await c.remove()
  })

  test('every node migrates or waits for the one that does, and comes up', async () => {
    for (const name of ['x', 'y', 'z']) nodes.push(spawnNode(c.env, c.dir, name))
    await Promise.all(nodes.map((n) => waitHealthy(n)))
    const db = await c.db()
    expect((await db.all('SELECT version FROM {schema_migrations}')).length).toBeGreaterThan(0)
  }, 60_000)
})
