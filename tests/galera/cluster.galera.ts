// Three `gotrue serve` processes, each on its own node of a three-node MariaDB Galera cluster
// (tests/fixtures/galera.sh; `bun run test:galera` starts it and sets TEST_GALERA_URLS), one Redis and one fake
// OAuth provider (tests/fakes); the processes are started and stopped by tests/helpers.ts, as in
// tests/scaleout.test.ts. Galera is multi-primary: a row lock does not reach the other nodes, the later of two
// conflicting commits fails at certification (ER_LOCK_DEADLOCK at COMMIT), the other nodes apply a commit a moment
// after it returns, and a node can leave at any moment. Without the cluster the file reports itself skipped. The
// file is named *.galera.ts so that plain `bun test` (the SQLite and MySQL passes) never collects it; the Galera
// pass names it.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../lib/crypto.ts'
import { type Db } from '../../lib/db/index.ts'
import { openMysql } from '../../lib/db/mysql.ts'
import { type FakeProviderName, type OAuthFake, startOAuthFake } from '../fakes/oauth-provider.ts'
import { body, dropNamespace, JWT_SECRET, REDIS_URL, redisProblem } from '../harness.ts'
import { callNode, freshClient, OPERATOR, refreshOn, type ServerNode, spawnNode, stopNode, type Tokens, totp, waitForNode } from '../helpers.ts'

const URLS = (process.env.TEST_GALERA_URLS ?? '').split(/\s+/).filter(Boolean)
const FIXTURE = join(import.meta.dir, '..', 'fixtures', 'galera.sh')
const uid = () => crypto.randomUUID().slice(0, 8)
const PASSWORD = 'long-enough-password'
const SITE = 'https://example.netlify.com'
/** The GoTrue nodes wait for their database (`/health/ready`), which on an empty cluster means its migrations. */
const waitReady = (node: ServerNode, timeoutMs = 60_000) => waitForNode(node, { path: '/health/ready', timeoutMs })

const signup = (node: ServerNode, email: string) => callNode(node, '/signup', { json: { email, password: PASSWORD } })
const login = (node: ServerNode, email: string) => callNode(node, '/token', { form: { grant_type: 'password', username: email, password: PASSWORD } })

/** Polls `check` until it holds (or `ms` pass): a row written through one Galera node is certified everywhere when
 *  the commit returns, but the other nodes apply it a moment later. */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  for (const until = Date.now() + ms; ; await Bun.sleep(20)) if (await check() || Date.now() > until) return check()
}
const tally = (rs: Response[]) => rs.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {})

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
    GOTRUE_SITE_URL: SITE, GOTRUE_OPERATOR_TOKEN: OPERATOR.authorization.slice('Bearer '.length),
    GOTRUE_DB_ENCRYPTION_KEY: 'galera-test-sealing-key-long-enough',
  }
  let nodes: ServerNode[] = []
  /** The OAuth providers the nodes sign in with (one real HTTP server in this process). */
  let fake: OAuthFake
  /** A direct connection to each Galera node, to see what each one holds. */
  const dbs: Db[] = URLS.map((u) => openMysql(u, namespace, 4))

  /** Galera's conflict counters summed over the nodes: commits refused at certification, and local transactions
   *  aborted by a replicated write. With GALERA_DEBUG the race tests print how many their bursts caused. */
  const conflicts = async () => {
    let n = 0
    for (const db of dbs) {
      for (const r of await db.all<{ Value: string }>("SHOW STATUS WHERE Variable_name IN ('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')")) n += Number(r.Value)
    }
    return n
  }
  const debug = (...args: unknown[]) => { if (process.env.GALERA_DEBUG) console.error(...args) }

  beforeAll(async () => {
    fake = await startOAuthFake()
    // All three at once on an empty schema: the migrations race for the lock row.
    nodes = URLS.map((u, i) => spawnNode({ ...env, ...fake.env(), DATABASE_URL: u }, dir, `node${i + 1}`))
    await Promise.all(nodes.map((n) => waitReady(n)))
  }, 120_000)
  afterAll(async () => {
    await Promise.all(nodes.map(stopNode))
    await fake?.stop()
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

  test('a node is seen as Galera without being told: every transaction on it begins with the savepoint its COMMIT checks', async () => {
    const db = openMysql(URLS[0] as string, namespace, 1) // one connection: its session counters cover every transaction
    try {
      const savepoints = () => db.tx(async (t) => Number((await t.get<{ n: string }>(
        "SELECT VARIABLE_VALUE AS n FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'COM_SAVEPOINT'"))?.n))
      const first = await savepoints()
      expect(first).toBeGreaterThanOrEqual(1)
      expect(await savepoints()).toBe(first + 1)
    } finally { await db.close() }
  })

  test('200 concurrent refreshes of one token over the three nodes: every answer 200 with one successor; the family has two rows', async () => {
    const email = `refresh-${uid()}@example.com`
    expect((await signup(nodes[0] as ServerNode, email)).status).toBe(200)
    const { refresh_token: t0 } = await body<Tokens>(await login(nodes[1] as ServerNode, email))
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => refreshOn(nodes[i % 3] as ServerNode, t0)))
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s !== 200)).toEqual([])
    const successors = new Set((await Promise.all(answers.map((r) => body<Tokens>(r)))).map((s) => s.refresh_token))
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
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => signup(nodes[i % 3] as ServerNode, email)))
    const statuses = answers.map((r) => r.status)
    expect(statuses.filter((s) => s >= 500)).toEqual([])
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1)
    for (const db of dbs) {
      const n = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM {users} WHERE email = ?', [email])
      expect(Number(n?.n)).toBe(1)
    }
  }, 60_000)

  test('one signup confirmation token POSTed to /verify 30 times at once over the three nodes, 20 rounds: one 200 with a session, 29 clean 404s; one session and one token family on every node', async () => {
    for (let round = 0; round < 20; round++) {
      const email = `verify-${uid()}@example.com`
      // The token a confirmation mail would carry (GOTRUE_MAILER_AUTOCONFIRM is on for the other tests here).
      const link = await callNode(nodes[round % 3] as ServerNode, '/admin/generate_link', { json: { type: 'signup', email, password: PASSWORD }, headers: OPERATOR })
      expect(link.status).toBe(200)
      const { id, hashed_token: token } = await body<{ id: string; hashed_token: string }>(link)
      // The race is the subject, not replication lag: every node holds the token before the burst.
      const seen = () => Promise.all(dbs.map((db) => db.get('SELECT id FROM {one_time_tokens} WHERE user_id = ?', [id])))
      expect(await eventually(async () => (await seen()).every(Boolean))).toBe(true)

      const before = await conflicts()
      const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => callNode(nodes[i % 3] as ServerNode, '/verify', { json: { type: 'signup', token } })))
      debug(`verify round ${round}: ${await conflicts() - before} Galera conflicts`)
      expect({ round, statuses: tally(answers) }).toEqual({ round, statuses: { 200: 1, 404: 29 } })
      const winner = answers.find((r) => r.status === 200) as Response
      const session = await body<Tokens>(winner)
      // (not toMatchObject with expect.any: Bun writes the matchers into the object it checks)
      expect([typeof session.access_token, typeof session.refresh_token, session.token_type]).toEqual(['string', 'string', 'bearer'])
      for (const r of answers.filter((x) => x.status === 404)) expect(await body(r)).toEqual({ code: 404, msg: 'User not found' })
      // The session works on every node.
      for (const n of nodes) expect((await callNode(n, '/user', { headers: { authorization: `Bearer ${session.access_token}` } })).status).toBe(200)
      for (const db of dbs) {
        const rows = async () => ({
          sessions: (await db.all('SELECT id FROM {sessions} WHERE user_id = ?', [id])).length,
          tokens: (await db.all('SELECT id FROM {refresh_tokens} WHERE user_id = ?', [id])).length,
          otps: (await db.all('SELECT id FROM {one_time_tokens} WHERE user_id = ?', [id])).length,
          confirmed: !!(await db.get<{ confirmed_at: string | null }>('SELECT confirmed_at FROM {users} WHERE id = ?', [id]))?.confirmed_at,
        })
        const want = { sessions: 1, tokens: 1, otps: 0, confirmed: true }
        await eventually(async () => JSON.stringify(await rows()) === JSON.stringify(want))
        expect({ round, ...(await rows()) }).toEqual({ round, ...want })
      }
    }
  }, 60_000)

  test('first sign-ins of one new provider account, 6 at once over the three nodes (each flow finished on another node than it began), 5 rounds: every one lands with a session of one user; one user and one identity on every node; no 5xx', async () => {
    const provider: FakeProviderName = 'github'
    /** /authorize on a node → the fake provider approves → what it sends back to /callback, with the state cookie. */
    const begin = async (node: ServerNode) => {
      const res = await callNode(node, `/authorize?provider=${provider}`, { redirect: 'manual' })
      expect(res.status).toBe(302)
      const back = await fake.approve(res.headers.get('location') ?? '')
      const cookie = /^(gotrue-oauth-state=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1] ?? ''
      return { back, cookie }
    }
    for (let round = 0; round < 5; round++) {
      const email = `oauth-${uid()}@example.com`, providerId = `galera-${uid()}`
      fake.setProfile(provider, { id: providerId, name: 'Grace Hopper', emails: [{ email, verified: true, primary: true }] })
      const flows = await Promise.all(Array.from({ length: 6 }, (_, i) => begin(nodes[i % 3] as ServerNode)))
      // Each flow's state row must be readable on the node that finishes it: wait for the replication.
      const states = flows.map((f) => sha256(f.back.get('state') ?? ''))
      const applied = () => Promise.all(dbs.map(async (db) => (await db.all('SELECT id FROM {flow_states} WHERE state_hash IN (?, ?, ?, ?, ?, ?)', states)).length))
      expect(await eventually(async () => (await applied()).every((n) => n === 6))).toBe(true)

      const finishers = flows.map((_, i) => nodes[(i + 1) % 3] as ServerNode)
      const before = await conflicts()
      const answers = await Promise.all(flows.map((f, i) => callNode(finishers[i] as ServerNode, `/callback?${f.back}`, { redirect: 'manual', headers: { cookie: f.cookie } })))
      debug(`sign-in round ${round}: ${await conflicts() - before} Galera conflicts`)
      expect({ round, statuses: answers.map((r) => r.status) }).toEqual({ round, statuses: Array(6).fill(302) })
      const hashes = answers.map((r) => Object.fromEntries(new URLSearchParams(new URL(r.headers.get('location') ?? '').hash.slice(1))))
      expect({ round, outcomes: hashes.map((h) => h.error_description ?? (h.access_token ? 'session' : 'nothing')) }).toEqual({ round, outcomes: Array(6).fill('session') })
      const ids = await Promise.all(hashes.map(async (h, i) =>
        (await body<{ id: string }>(await callNode(finishers[i] as ServerNode, '/user', { headers: { authorization: `Bearer ${h.access_token}` } }))).id))
      expect(new Set(ids).size).toBe(1)
      for (const db of dbs) {
        const rows = async () => ({
          users: (await db.all<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email])).map((u) => u.id),
          identities: (await db.all<{ user_id: string }>('SELECT user_id FROM {identities} WHERE provider = ? AND provider_id = ?', [provider, providerId])).map((r) => r.user_id),
        })
        const want = { users: [ids[0] as string], identities: [ids[0] as string] }
        await eventually(async () => JSON.stringify(await rows()) === JSON.stringify(want))
        expect({ round, ...(await rows()) }).toEqual({ round, ...want })
      }
    }
    for (const n of nodes) expect(readFileSync(n.logFile, 'utf8')).not.toMatch(/"level":"(error|fatal)"/)
  }, 60_000)

  test('a user\'s two TOTP factors deleted at once through two nodes, 10 rounds: both 200, and on every node the recovery codes went with the last', async () => {
    const [one, two] = nodes as [ServerNode, ServerNode]
    const auth = (token: string) => ({ authorization: `Bearer ${token}` })
    const factorTypes = async (db: Db, userId: string) =>
      (await db.all<{ factor_type: string }>('SELECT factor_type FROM {mfa_factors} WHERE user_id = ?', [userId])).map((r) => r.factor_type).sort()
    for (let round = 0; round < 10; round++) {
      const email = `mfa-${uid()}@example.com`
      const { id: userId } = await body<{ id: string }>(await signup(one, email))
      let token = (await body<Tokens>(await login(one, email))).access_token
      const factorIds: string[] = []
      for (let i = 0; i < 2; i++) {
        const f = await body<{ id: string; totp: { secret: string } }>(await callNode(one, '/factors', { json: { factor_type: 'totp', friendly_name: `f${i}` }, headers: auth(token) }))
        const ch = await body<{ id: string }>(await callNode(one, `/factors/${f.id}/challenge`, { method: 'POST', headers: auth(token) }))
        const verified = await callNode(one, `/factors/${f.id}/verify`, { json: { challenge_id: ch.id, code: totp(f.totp.secret, Date.now()) }, headers: auth(token) })
        expect(verified.status).toBe(200)
        token = (await body<Tokens>(verified)).access_token
        factorIds.push(f.id)
      }
      expect((await callNode(one, '/factors/recovery-codes', { json: {}, headers: auth(token) })).status).toBe(200)
      // The race is the subject, not replication lag: every node holds the three factors before the burst.
      const all = ['recovery_code', 'totp', 'totp']
      expect(await eventually(async () => (await Promise.all(dbs.map((db) => factorTypes(db, userId)))).every((t) => JSON.stringify(t) === JSON.stringify(all)))).toBe(true)

      const before = await conflicts()
      const answers = await Promise.all([
        callNode(one, `/factors/${factorIds[0]}`, { method: 'DELETE', headers: auth(token) }),
        callNode(two, `/factors/${factorIds[1]}`, { method: 'DELETE', headers: auth(token) }),
      ])
      debug(`factor delete round ${round}: ${await conflicts() - before} Galera conflicts`)
      expect({ round, statuses: answers.map((r) => r.status) }).toEqual({ round, statuses: [200, 200] })
      // Never recovery codes as the only factor, on any node.
      for (const db of dbs) {
        await eventually(async () => (await factorTypes(db, userId)).length === 0, 2000)
        expect({ round, left: await factorTypes(db, userId) }).toEqual({ round, left: [] })
      }
    }
  }, 60_000)

  test.skipIf(redisDown !== null)('a refresh limit of 10 per client holds across the three nodes through Redis: 30 tries, 10 allowed', async () => {
    const from = freshClient()
    const answers = []
    for (let i = 0; i < 30; i++) answers.push((await callNode(nodes[i % 3] as ServerNode, '/token', { form: { grant_type: 'refresh_token', refresh_token: 'nope' }, from })).status)
    expect(answers.filter((s) => s !== 429).length).toBe(10)
    expect(answers.slice(10).every((s) => s === 429)).toBe(true)
  })

  test('Galera node 3 SIGKILLed under signup/refresh load: its GoTrue node answers 503 within a second and is not ready, the others keep serving, a multi-host DATABASE_URL fails over; after the rejoin every acknowledged write is on all three nodes', async () => {
    // A fourth GoTrue node lists node 3 first and node 2 second: it must move to node 2.
    const third = URLS[2] as string, second = URLS[1] as string
    const multi = third.replace(/@([^/]+)\//, (_, hp) => `@${hp},${new URL(second).host}/`)
    const failover = spawnNode({ ...env, DATABASE_URL: multi }, dir, 'failover')
    await waitReady(failover)
    const all = [...nodes, failover]
    const acked = { emails: [] as string[], tokens: [] as string[] }
    const ackedBy: Record<string, number> = {}
    const fiveHundreds: Record<string, number[]> = {}
    let stop = false
    const worker = async (node: ServerNode, name: string) => {
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
          if (r?.status === 200) { const l = await login(node, email).catch(() => null); if (l?.status === 200) token = (await body<Tokens>(l)).refresh_token }
          continue
        }
        const t1 = performance.now()
        const r = await refreshOn(node, token).catch(() => null)
        if (process.env.GALERA_DEBUG && performance.now() - t1 > 1000) console.error(`${name} refresh took ${Math.round(performance.now() - t1)} ms: ${r?.status} at ${new Date().toISOString()}`)
        if (r?.status === 200) { token = (await body<Tokens>(r)).refresh_token; acked.tokens.push(token) }
        else if (r && r.status >= 500) (fiveHundreds[name] ??= []).push(r.status)
        await Bun.sleep(5)
      }
    }
    const load = all.map((n, i) => worker(n, i === 3 ? 'failover' : `node${i + 1}`))
    await Bun.sleep(1500)
    await fixture('kill', '3')
    const killedAt = performance.now() // the fixture returns once the process is gone
    // The GoTrue node on the dead database: a 503 (not a hang, not a 500) within a second, and not ready.
    const r503 = await signup(nodes[2] as ServerNode, `dead-${uid()}@example.com`)
    expect(r503.status).toBe(503)
    let ready = 200
    while (ready === 200 && performance.now() - killedAt < 3000) { ready = (await fetch(`${(nodes[2] as ServerNode).url}/health/ready`)).status; if (ready === 200) await Bun.sleep(50) }
    expect(ready).toBe(503)
    expect(performance.now() - killedAt).toBeLessThan(1000 + 250) // the readiness answer is cached for up to a second
    // Galera holds every commit until the dead member is evicted (evs.suspect_timeout, 2 s in the fixture, plus
    // the new view): the survivors' writes wait, they do not fail. Past that window they run again.
    const evicted = performance.now()
    for (const n of [nodes[0], nodes[1], failover] as ServerNode[]) {
      while ((await signup(n, `after-${uid()}@example.com`)).status !== 200 && performance.now() - evicted < 10_000) await Bun.sleep(100)
    }
    const before = { ...ackedBy }
    await Bun.sleep(3000)
    // The other nodes (and the one that failed over) kept writing while node 3 was down.
    for (const name of ['node1', 'node2', 'failover']) expect({ name, more: (ackedBy[name] ?? 0) > (before[name] ?? 0) }).toEqual({ name, more: true })
    for (const n of [nodes[0], nodes[1], failover] as ServerNode[]) {
      expect((await signup(n, `alive-${uid()}@example.com`)).status).toBe(200)
    }
    await fixture('rejoin', '3')
    stop = true
    await Promise.all(load)
    await waitReady(nodes[2] as ServerNode, 20_000)
    const errors = (n: ServerNode) => readFileSync(n.logFile, 'utf8').split('\n').filter((l) => /"level":"error"|error/i.test(l)).slice(-5).join('\n')
    expect({ statuses: fiveHundreds.node1 ?? [], log: (fiveHundreds.node1 ?? []).length ? errors(nodes[0] as ServerNode) : '' }).toEqual({ statuses: [], log: '' })
    expect({ statuses: fiveHundreds.node2 ?? [], log: (fiveHundreds.node2 ?? []).length ? errors(nodes[1] as ServerNode) : '' }).toEqual({ statuses: [], log: '' })
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
