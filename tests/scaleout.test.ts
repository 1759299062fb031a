// Scale-out: real `gotrue serve` processes on one database (MySQL when TEST_MYSQL_URL is set, else one SQLite
// file shared by the processes) and one Redis. Whatever node a request lands on, the user, the access token,
// the refresh token and the rate-limit counts are the same. The processes are killed in afterAll, and on exit
// of the test runner as a last resort (tests/helpers.ts), so none is left behind when a test fails.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Env, loadConfig } from '../lib/config.ts'
import { sha256 } from '../lib/crypto.ts'
import { type Db, openDb } from '../lib/db/index.ts'
import { body, JWT_SECRET, MYSQL_URL, dropNamespace, REDIS_URL, redisProblem } from './harness.ts'
import { callNode, freshClient, refreshOn, type ServerNode, spawnNode, stopNode, type Tokens, waitForNode } from './helpers.ts'

const uid = () => crypto.randomUUID().slice(0, 8)

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

const redisDown = await redisProblem(REDIS_URL)
const skipRedis = redisDown !== null && !process.env.CI // CI starts Redis: there it must be up

describe(`two server processes, one ${MYSQL_URL ? 'MySQL database' : 'SQLite file'}, one Redis`, () => {
  const c = cluster()
  let a: ServerNode, b: ServerNode
  beforeAll(async () => {
    a = spawnNode(c.env, c.dir, 'a')
    await waitForNode(a)
    b = spawnNode(c.env, c.dir, 'b') // migrates too: finds nothing pending
    await waitForNode(b)
  }, 60_000)
  afterAll(async () => {
    await Promise.all([stopNode(a), stopNode(b)])
    await c.remove()
  })

  /** A user signed up (autoconfirmed) on `node`. */
  async function user(node: ServerNode) {
    const email = `node-${uid()}@example.com`, password = 'long-enough-password'
    const res = await callNode(node, '/signup', { json: { email, password } })
    expect(res.status).toBe(200)
    expect((await body(res)).confirmed_at).toEqual(expect.any(String))
    return { email, password }
  }
  const login = (node: ServerNode, u: { email: string; password: string }) =>
    callNode(node, '/token', { form: { grant_type: 'password', username: u.email, password: u.password } })

  test('a user signed up on node A logs in on node B', async () => {
    const u = await user(a)
    const res = await login(b, u)
    expect(res.status).toBe(200)
    expect(await body(res)).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), refresh_token: expect.any(String) })
  })

  test('an access token minted on A is accepted by GET /user on B', async () => {
    const u = await user(a)
    const { access_token } = await body<Tokens>(await login(a, u))
    const res = await callNode(b, '/user', { headers: { authorization: `Bearer ${access_token}` } })
    expect(res.status).toBe(200)
    expect((await body(res)).email).toBe(u.email)
  })

  test('a session ended on A: B refuses its access token within a second, though B had verified (and cached) it', async () => {
    const u = await user(a)
    const phone = await body<Tokens>(await login(a, u))
    const laptop = await body<Tokens>(await login(b, u))
    const auth = { authorization: `Bearer ${phone.access_token}` }
    expect((await callNode(b, '/user', { headers: auth })).status).toBe(200)
    const sessionId = JSON.parse(Buffer.from(phone.access_token.split('.')[1] ?? '', 'base64url').toString()).session_id as string
    const ended = await callNode(a, `/user/sessions/${sessionId}`, { method: 'DELETE', headers: { authorization: `Bearer ${laptop.access_token}` } })
    expect(ended.status).toBe(204)
    const started = performance.now()
    let status = 200
    while (status === 200 && performance.now() - started < 3000) {
      status = (await callNode(b, '/user', { headers: auth })).status
      if (status === 200) await Bun.sleep(20)
    }
    expect(status).toBe(401)
    expect(performance.now() - started).toBeLessThan(1000)
    expect((await callNode(a, '/user', { headers: auth })).status).toBe(401) // and at once on the node that ended it
    expect((await callNode(b, '/user', { headers: { authorization: `Bearer ${laptop.access_token}` } })).status).toBe(200)
  })

  test('a refresh token issued by A is rotated by B; replaying it on A within the grace interval gets B\'s successor', async () => {
    const u = await user(b)
    const { refresh_token: t0 } = await body<Tokens>(await login(a, u))
    const rotated = await refreshOn(b, t0)
    expect(rotated.status).toBe(200)
    const t1 = (await body<Tokens>(rotated)).refresh_token
    expect(t1).not.toBe(t0)
    const replay = await refreshOn(a, t0)
    expect(replay.status).toBe(200)
    expect((await body<Tokens>(replay)).refresh_token).toBe(t1)
    expect((await refreshOn(a, t1)).status).toBe(200)
  })

  test('40 concurrent refreshes of one token split across both nodes: all 200 with one successor; the family has two rows', async () => {
    const u = await user(a)
    const { refresh_token: t0 } = await body<Tokens>(await login(b, u))
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => refreshOn(i % 2 ? a : b, t0)))
    expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200))
    const successors = new Set((await Promise.all(answers.map((r) => body<Tokens>(r)))).map((s) => s.refresh_token))
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
    const from = freshClient()
    const nope = (node: ServerNode) => callNode(node, '/token', { form: { grant_type: 'nope' }, from })
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
    expect((await callNode(a, '/token', { form: { grant_type: 'nope' } })).status).toBe(400) // another client
  })
})

describe('three nodes booting at once against an empty database (GOTRUE_DB_AUTOMIGRATE on each)', () => {
  const c = cluster()
  const nodes: ServerNode[] = []
  afterAll(async () => {
    await Promise.all(nodes.map(stopNode))
    await c.remove()
  })

  test('every node migrates or waits for the one that does, and comes up', async () => {
    for (const name of ['x', 'y', 'z']) nodes.push(spawnNode(c.env, c.dir, name))
    await Promise.all(nodes.map((n) => waitForNode(n)))
    const db = await c.db()
    expect((await db.all('SELECT version FROM {schema_migrations}')).length).toBeGreaterThan(0)
  }, 60_000)
})
