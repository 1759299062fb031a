// A database outage and its recovery, as a load balancer and a client see them. The server reaches MariaDB
// through a TCP proxy (tests/fakes/tcp-proxy.ts); cutting the proxy is the outage, so the shared MariaDB that
// other test files use keeps running. While cut: /health answers 503 so the balancer drains the instance,
// requests that need the database fail fast with 503 + error_id + Retry-After (never a hang), and the process
// stays up. After restore: the same server serves the same requests again, with no restart.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startTcpProxy, type TcpProxy } from './fakes/tcp-proxy.ts'
import { body, form, MYSQL_URL, startServer, type TestServer } from './harness.ts'

/** Every request here must answer within this bound: an outage may be slow to detect, never a hang. */
const ANSWER_MS = 6000

async function timed(p: Promise<Response>): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ANSWER_MS} ms`)), ANSWER_MS) })
  try { return await Promise.race([p, hang]) } finally { clearTimeout(timer) }
}

/** /health is checked at most once per second, so a change shows within about a second: poll for it. */
async function healthBecomes(s: TestServer, status: number): Promise<Response> {
  const deadline = Date.now() + ANSWER_MS
  for (;;) {
    const res = await timed(s.req('/health'))
    if (res.status === status || Date.now() > deadline) return res
    await Bun.sleep(100)
  }
}

if (!MYSQL_URL) {
  // The outage is simulated between the server and MariaDB; SQLite has no connection to lose.
  describe('GET /health on SQLite', () => {
    let s: TestServer
    beforeAll(async () => { s = await startServer() })
    afterAll(() => s.stop())
    test('the database answers, so /health is 200', async () => {
      const res = await s.req('/health')
      expect(res.status).toBe(200)
      expect((await body(res)).name).toBe('GoTrue')
    })
  })
} else {
  describe('MySQL outage through a cut TCP proxy', () => {
    let proxy: TcpProxy
    let s: TestServer
    const password = 'outage-password-1'
    const existing = 'before@example.com'
    const signup = (email: string) => timed(s.req('/signup', { method: 'POST', json: { email, password } }))
    const login = (email: string) => timed(s.req('/token', form({ grant_type: 'password', username: email, password })))

    beforeAll(async () => {
      const target = new URL(MYSQL_URL)
      proxy = await startTcpProxy({ host: target.hostname || '127.0.0.1', port: Number(target.port || 3306) })
      target.host = `127.0.0.1:${proxy.port}`
      s = await startServer({ env: { DATABASE_URL: target.toString(), GOTRUE_MAILER_AUTOCONFIRM: 'true' } })
      expect((await signup(existing)).status).toBe(200)
    })
    afterAll(async () => {
      proxy.restore() // the harness drops this run's tables through the same connection
      await s.stop()
      proxy.stop()
    })

    test('before the outage: healthy, and the server really goes through the proxy', async () => {
      expect((await s.req('/health')).status).toBe(200)
      expect((await login(existing)).status).toBe(200)
      expect(proxy.open).toBeGreaterThan(0)
    })

    test('while cut: /health 503 Database unreachable', async () => {
      proxy.cut()
      const res = await healthBecomes(s, 503)
      expect(res.status).toBe(503)
      // Like every 5xx here, it carries error_id (the request id) so the operator can find the log line.
      expect(await body(res)).toEqual({ code: 503, msg: 'Database unreachable', error_id: res.headers.get('x-request-id') as string })
    })

    test('while cut: signup and login fail fast with 503 in the GoTrue shape, with error_id and Retry-After', async () => {
      for (const res of [await signup('during@example.com'), await login(existing), await signup('during2@example.com')]) {
        expect(res.status).toBe(503)
        expect(res.headers.get('retry-after')).toBe('1')
        const b = await body(res)
        expect(b).toEqual({ code: 503, msg: 'Database temporarily unavailable', error_id: res.headers.get('x-request-id') as string })
      }
    })

    test('while cut: the process stays up and answers what needs no database', async () => {
      const res = await timed(s.req('/settings'))
      expect(res.status).toBe(200)
      expect((await healthBecomes(s, 503)).status).toBe(503)
    })

    test('after restore: the same server recovers without a restart', async () => {
      proxy.restore()
      expect((await healthBecomes(s, 200)).status).toBe(200)
      expect((await login(existing)).status).toBe(200)
      const created = await signup('after@example.com')
      expect(created.status).toBe(200)
      expect((await body(created)).email).toBe('after@example.com')
      expect((await login('after@example.com')).status).toBe(200)
    })

    test('a cut in the middle of traffic: every request answers 200 or 503 (never a 500), then all recover', async () => {
      for (let round = 0; round < 3; round++) {
        // Twenty requests in flight; the cut lands among them: some finished, some inside a statement or a
        // transaction (BEGIN, a query, COMMIT), some waiting for a connection.
        const inFlight = Array.from({ length: 20 }, (_, i) => (i % 2 ? signup(`mid-${round}-${i}@example.com`) : login(existing)))
        await Bun.sleep(5 + round * 15)
        proxy.cut()
        for (const res of await Promise.all(inFlight)) {
          const b = await body(res)
          if (res.status !== 200) expect(b).toEqual({ code: 503, msg: 'Database temporarily unavailable', error_id: res.headers.get('x-request-id') as string })
        }
        proxy.restore()
        expect((await healthBecomes(s, 200)).status).toBe(200)
        const after = await Promise.all(Array.from({ length: 12 }, () => login(existing)))
        expect(after.map((r) => r.status)).toEqual(after.map(() => 200))
      }
    })

    test('a silent network (no reset, no answer): statements time out (GOTRUE_DB_QUERY_TIMEOUT), 503, then recovery', { timeout: 30_000 }, async () => {
      const quick = await startServer({ env: { DATABASE_URL: s.deps.config.db.url, GOTRUE_DB_NAMESPACE: s.deps.config.db.namespace, GOTRUE_DB_QUERY_TIMEOUT: '1s', GOTRUE_MAILER_AUTOCONFIRM: 'true' } })
      try {
        expect((await timed(quick.req('/token', form({ grant_type: 'password', username: existing, password })))).status).toBe(200)
        proxy.stall()
        // more requests than the pool has connections: stuck connections must be dropped, not pile up
        const answers = await Promise.all(Array.from({ length: 15 }, () => timed(quick.req('/token', form({ grant_type: 'password', username: existing, password })))))
        for (const r of answers) {
          expect(r.status).toBe(503)
          expect((await body(r)).code).toBe(503)
        }
        proxy.restore()
        expect((await healthBecomes(quick, 200)).status).toBe(200)
        expect((await timed(quick.req('/token', form({ grant_type: 'password', username: existing, password })))).status).toBe(200)
      } finally {
        proxy.restore()
        // not quick.stop(): it would drop the namespace's tables, which `s` still uses
        await quick.app.stop()
        await quick.deps.db.close().catch(() => {})
        await quick.smtp.stop()
      }
    })

    test('a second outage and recovery behave the same (no poisoned pool)', async () => {
      proxy.cut()
      expect((await healthBecomes(s, 503)).status).toBe(503)
      expect((await login(existing)).status).toBe(503)
      proxy.restore()
      expect((await healthBecomes(s, 200)).status).toBe(200)
      expect((await login(existing)).status).toBe(200)
      expect((await signup('again@example.com')).status).toBe(200)
    })
  })
}
