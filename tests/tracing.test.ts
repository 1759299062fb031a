// Request tracing (spec §13; lib/tracing.ts): every request is an `http.handler` span tagged with method, path,
// `resource.name`, status and request id (and `nf.client` when the X-Nf-Client header is sent); database
// statements and transactions, mails and webhooks are child spans of it. Spans go to a Datadog agent
// (PUT /v0.3/traces) and an OTLP/HTTP JSON collector, both played here by one real fake server.
// Deliberate differences from the reference: `resource.name` uses the route pattern (`GET /admin/users/:user_id`,
// `GET unmatched` for unknown paths) rather than the raw path, so one endpoint is one resource.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type DdSpan, parseDatadog, startTraceAgent, type TraceAgent } from './fakes/trace-agent.ts'
import { body, DIALECT, startServer, type TestServer } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const GLOBAL = { env: 'test', team: 'identity' }
const isDb = (sp: DdSpan) => sp.name === 'db.query' || sp.name === 'db.transaction'
let n = 0
const email = () => `trace-${Date.now()}-${++n}@example.com`

/** The whole trace of the request that produced `res`, found by its request id once its root span arrived.
 *  With `flush` the server is asked to send at once; without, the once-a-second timer has to deliver it. */
async function traceOf(s: TestServer, agent: TraceAgent, res: Response, flush = true): Promise<{ root: DdSpan; spans: DdSpan[] }> {
  const id = res.headers.get('x-request-id')
  expect(id).toBeTruthy()
  for (const deadline = Date.now() + 5000; Date.now() < deadline; await Bun.sleep(20)) {
    if (flush) await s.deps.tracer.flush()
    const all = agent.ddSpans()
    const root = all.find((sp) => sp.name === 'http.handler' && sp.meta['http.request_id'] === id)
    if (root) return { root, spans: all.filter((sp) => sp.trace_id === root.trace_id) }
  }
  throw new Error(`no http.handler span with request id ${id}; received ${agent.ddSpans().length} spans`)
}

/** Every span of a trace hangs from a span of the same trace, up to its root. */
function expectTree(root: DdSpan, spans: DdSpan[]) {
  const byId = new Map(spans.map((sp) => [sp.span_id, sp]))
  for (const sp of spans) {
    if (sp === root) continue
    let up = byId.get(sp.parent_id)
    while (up && up !== root) up = byId.get(up.parent_id)
    expect(up).toBe(root)
  }
}

describe('tracing enabled: Datadog agent and OTLP collector', () => {
  let s: TestServer
  let agent: TraceAgent
  beforeAll(async () => {
    agent = await startTraceAgent()
    s = await startServer({
      env: {
        GOTRUE_TRACING_ENABLED: 'true', GOTRUE_TRACING_HOST: agent.host, GOTRUE_TRACING_PORT: String(agent.port),
        GOTRUE_TRACING_OTLP_ENDPOINT: agent.otlpUrl, GOTRUE_TRACING_TAGS: 'env:test,team:identity',
        GOTRUE_TRACING_SERVICE_NAME: 'gotrue-test',
      },
    })
  })
  afterAll(async () => {
    await s.stop()
    await agent.stop()
  })

  test('unknown routes: a root http.handler span each, with method, path, resource, status "404" and request id', async () => {
    const a = await s.req('/no/such/route')
    const b = await s.req('/nope', { method: 'POST', json: {} })
    expect([a.status, b.status]).toEqual([404, 404])
    // the first one arrives through the once-a-second flush, without asking
    const ta = await traceOf(s, agent, a, false)
    const tb = await traceOf(s, agent, b)
    for (const [{ root, spans }, method, path, res] of [[ta, 'GET', '/no/such/route', a], [tb, 'POST', '/nope', b]] as const) {
      expect(spans).toEqual([root])
      expect(root).toMatchObject({ name: 'http.handler', resource: `${method} unmatched`, service: 'gotrue-test', type: 'web', parent_id: '0', error: 0 })
      expect(root.trace_id).toBe(root.span_id)
      expect(root.meta).toEqual({
        ...GLOBAL, 'http.method': method, 'http.url': path, 'resource.name': `${method} unmatched`,
        'http.status_code': '404', 'http.request_id': res.headers.get('x-request-id') as string,
      })
      expect(BigInt(root.start)).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n)
      expect(root.duration).toBeGreaterThan(0)
    }
    expect(ta.root.trace_id).not.toBe(tb.root.trace_id)
    const put = agent.requests.find((r) => r.path === '/v0.3/traces')
    expect(put?.method).toBe('PUT')
    expect(put?.headers['content-type']).toBe('application/json')
    expect(Number(put?.headers['x-datadog-trace-count'])).toBe(parseDatadog(put?.raw ?? '').length)
  })

  test('X-Nf-Client is copied to nf.client; the resource is the route pattern', async () => {
    const res = await s.req('/settings', { headers: { 'X-Nf-Client': 'netlify-identity-widget/1.9' } })
    expect(res.status).toBe(200)
    const { root } = await traceOf(s, agent, res)
    expect(root.meta['nf.client']).toBe('netlify-identity-widget/1.9')
    expect(root.meta['resource.name']).toBe('GET /settings')
    expect(root.meta['http.status_code']).toBe('200')
    const without = await traceOf(s, agent, await s.req('/settings'))
    expect(Object.keys(without.root.meta)).not.toContain('nf.client')
  })

  test('signup: statements, the transaction and the mail are children of the request span, without personal data', async () => {
    const address = email()
    const password = 'trace-password-1'
    const res = await s.req('/signup', { method: 'POST', json: { email: address, password, data: { name: 'Tracy' } } })
    expect(res.status).toBe(200)
    const { root, spans } = await traceOf(s, agent, res)
    expect(root.meta['resource.name']).toBe('POST /signup')
    expectTree(root, spans)
    const db = spans.filter(isDb)
    // signup writes in one transaction: its span hangs from the request, its statements from it
    const tx = db.filter((sp) => sp.name === 'db.transaction')
    expect(tx).toHaveLength(1)
    expect(tx[0]).toMatchObject({ parent_id: root.span_id, resource: 'BEGIN' })
    // reads before the transaction (the audience and existing-row checks) hang from the request, the writes from it
    const statements = db.filter((sp) => sp.name === 'db.query')
    const inTx = statements.filter((sp) => sp.parent_id === tx[0]?.span_id)
    expect(inTx.length).toBeGreaterThanOrEqual(3)
    for (const sp of statements) expect([tx[0]?.span_id, root.span_id]).toContain(sp.parent_id)
    for (const sp of statements) if (/^(INSERT|UPDATE|DELETE)/.test(sp.resource)) expect(sp.parent_id).toBe(tx[0]?.span_id as string)
    for (const sp of db) expect(sp).toMatchObject({ type: 'sql', service: 'gotrue-test', error: 0, meta: { ...GLOBAL, 'db.system': DIALECT } })
    expect(db.some((sp) => /^INSERT INTO \{users\}/.test(sp.resource))).toBe(true)
    const mail = spans.filter((sp) => sp.name === 'smtp.send')
    expect(mail).toHaveLength(1)
    expect(mail[0]).toMatchObject({ parent_id: root.span_id, error: 0, meta: { ...GLOBAL, 'mail.kind': 'confirmation' } })
    // every span carries the global tags and the service name
    for (const sp of spans) expect(sp).toMatchObject({ service: 'gotrue-test', meta: GLOBAL })
    // the SQL text as written, never a bound value; no recipient, password or metadata anywhere
    const text = JSON.stringify(spans)
    for (const secret of [address, address.split('@')[0] as string, password, 'Tracy']) expect(text).not.toContain(secret)
  })

  test('a 5xx marks the request span as failed (and the failed mail span)', async () => {
    s.smtp.failNext()
    const res = await s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } })
    expect(res.status).toBe(500)
    expect((await body(res)).msg).toBe('Error sending confirmation mail')
    const { root, spans } = await traceOf(s, agent, res)
    expect(root.error).toBe(1)
    expect(root.meta['http.status_code']).toBe('500')
    expect(spans.find((sp) => sp.name === 'smtp.send')).toMatchObject({ error: 1, meta: { 'error.type': 'MailError' } })
    // a 4xx is the client's error, not the service's
    const bad = await traceOf(s, agent, await s.req('/signup', { method: 'POST', json: { email: 'not-an-email', password: 'x' } }))
    expect(bad.root.meta['http.status_code']).toBe('422')
    expect(bad.root.error).toBe(0)
  })

  test('a factor request that changes nothing rolls its transaction back without marking any span failed', async () => {
    const signup = await s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } })
    const { id } = await body<{ id: string }>(signup)
    const admin = await s.req(`/admin/users/${id}`, { method: 'PUT', json: { confirm: true }, headers: OPERATOR })
    expect(admin.status).toBe(200)
    const { email: address } = await body<{ email: string }>(admin)
    const login = await s.req('/token?grant_type=password', { method: 'POST', json: { username: address, password: 'trace-password-1' } })
    const { access_token } = await body<{ access_token: string }>(login)
    const res = await s.req(`/factors/${crypto.randomUUID()}`, { method: 'DELETE', headers: { authorization: `Bearer ${access_token}` } })
    expect(res.status).toBe(404)
    const { root, spans } = await traceOf(s, agent, res)
    expect(spans.filter((sp) => sp.name === 'db.transaction')).toHaveLength(1)
    for (const sp of spans) expect({ name: sp.name, error: sp.error }).toEqual({ name: sp.name, error: 0 })
    expect(root.error).toBe(0)
  })

  test('concurrent requests: each statement lands in the trace of the request that ran it', async () => {
    // what one request of each kind does on its own
    const soloSignup = (await traceOf(s, agent, await s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } }))).spans.filter(isDb)
    const list = await traceOf(s, agent, await s.req('/admin/users', { headers: OPERATOR }))
    const soloList = list.spans.filter(isDb).map((sp) => sp.resource).sort()
    expect(soloList.length).toBeGreaterThan(0)
    // statements outside a transaction hang straight from the request span
    for (const sp of list.spans.filter(isDb)) expect(sp).toMatchObject({ name: 'db.query', parent_id: list.root.span_id })
    const responses = await Promise.all(Array.from({ length: 6 }, () => [
      s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } }),
      s.req('/admin/users', { headers: OPERATOR }),
      s.req('/settings'),
    ]).flat())
    expect(responses.map((r) => r.status)).toEqual(Array.from({ length: 6 }, () => [200, 200, 200]).flat())
    for (const res of responses) {
      const { root, spans } = await traceOf(s, agent, res)
      expectTree(root, spans)
      const db = spans.filter(isDb)
      switch (root.meta['resource.name']) {
        case 'GET /settings': expect(spans).toEqual([root]); break
        case 'GET /admin/users': expect(db.map((sp) => sp.resource).sort()).toEqual(soloList); break
        case 'POST /signup':
          // (a MySQL deadlock retry may repeat statements, never bring in another request's)
          expect(new Set(db.map((sp) => sp.resource))).toEqual(new Set(soloSignup.map((sp) => sp.resource)))
          expect(db.length).toBeGreaterThanOrEqual(soloSignup.length)
          expect(spans.filter((sp) => sp.name === 'smtp.send')).toHaveLength(1)
          break
        default: throw new Error(`unexpected request span ${root.meta['resource.name']}`)
      }
    }
  })

  test('the OTLP collector receives the same spans in OTLP JSON', async () => {
    const { root, spans } = await traceOf(s, agent, await s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } }))
    const hex = (dec: string, width: number) => BigInt(dec).toString(16).padStart(width, '0')
    let otlp = agent.otlpSpans().filter((o) => o.traceId === hex(root.trace_id, 32))
    for (const deadline = Date.now() + 5000; otlp.length < spans.length && Date.now() < deadline; await Bun.sleep(20)) {
      await s.deps.tracer.flush()
      otlp = agent.otlpSpans().filter((o) => o.traceId === hex(root.trace_id, 32))
    }
    expect(otlp).toHaveLength(spans.length)
    expect(agent.requests.find((r) => r.path === '/v1/traces')?.method).toBe('POST')
    for (const sp of spans) {
      const o = otlp.find((x) => x.spanId === hex(sp.span_id, 16))
      expect(o).toBeDefined()
      if (!o) continue
      expect(o.traceId).toMatch(/^[0-9a-f]{32}$/)
      expect(o.spanId).toMatch(/^[0-9a-f]{16}$/)
      expect(o).toMatchObject({ name: sp.name, service: 'gotrue-test', parentSpanId: sp === root ? '' : hex(sp.parent_id, 16), kind: sp === root ? 2 : 3 })
      expect(o.startTimeUnixNano).toBe(sp.start)
      expect(BigInt(o.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(o.startTimeUnixNano))
      expect(o.status.code).toBe(sp.error ? 2 : 0)
      const attributes = Object.fromEntries(o.attributes.map((a) => [a.key, a.value.stringValue]))
      expect(attributes).toEqual({ ...sp.meta, 'resource.name': sp.resource })
    }
  })
})

describe('tracing disabled (the default)', () => {
  test('nothing is sent, even with an agent address configured', async () => {
    const agent = await startTraceAgent()
    const s = await startServer({ env: { GOTRUE_TRACING_HOST: agent.host, GOTRUE_TRACING_PORT: String(agent.port), GOTRUE_TRACING_OTLP_ENDPOINT: agent.otlpUrl } })
    try {
      expect(s.deps.tracer.enabled).toBe(false)
      expect((await s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } })).status).toBe(200)
      expect((await s.req('/nope')).status).toBe(404)
    } finally {
      await s.stop() // stopping flushes whatever an enabled tracer would still hold
      await agent.stop()
    }
    expect(agent.requests).toEqual([])
  })
})

describe('a tracing backend that is down or misconfigured', () => {
  test('an unreachable agent and collector never fail a request, and a flush does not throw', async () => {
    const gone = await startTraceAgent()
    await gone.stop() // its port is now closed
    const s = await startServer({ env: { GOTRUE_TRACING_ENABLED: 'true', GOTRUE_TRACING_HOST: gone.host, GOTRUE_TRACING_PORT: String(gone.port), GOTRUE_TRACING_OTLP_ENDPOINT: gone.otlpUrl } })
    try {
      expect(s.deps.tracer.enabled).toBe(true)
      const res = await s.req('/signup', { method: 'POST', json: { email: email(), password: 'trace-password-1' } })
      expect(res.status).toBe(200)
      expect((await s.req('/settings')).status).toBe(200)
      expect(await s.deps.tracer.flush()).toBeUndefined()
    } finally { await s.stop() }
  })

  test('an OTLP endpoint that is not an http(s) URL stops `serve` with one line naming the variable', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gotrue-tracing-'))
    const p = Bun.spawnSync(['bun', join(import.meta.dir, '..', 'bin', 'gotrue.ts'), 'serve'], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '', GOTRUE_JWT_SECRET: 'tracing-test-secret-long-enough-for-hs256', GOTRUE_DB_AUTOMIGRATE: 'true', DATABASE_URL: join(cwd, 'gotrue.db'), GOTRUE_API_PORT: '0',
        GOTRUE_TRACING_ENABLED: 'true', GOTRUE_TRACING_OTLP_ENDPOINT: 'collector:4318/v1/traces',
      },
    })
    rmSync(cwd, { recursive: true, force: true })
    const err = p.stderr.toString().trim()
    expect(p.exitCode).toBe(1)
    expect(err).toBe('gotrue: GOTRUE_TRACING_OTLP_ENDPOINT: expected an http(s) URL, got "collector:4318/v1/traces"')
  })
})
