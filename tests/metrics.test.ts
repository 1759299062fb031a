// GET /metrics as Prometheus scrapes it: the text exposition format (every line a comment it knows or a
// sample), request counters labelled by route pattern, cumulative latency histograms, the gauges an operator
// alerts on; GOTRUE_METRICS_ENABLED=false removes the route, GOTRUE_METRICS_PORT moves it to its own listener.
// On the API port (the public one) /metrics is served only behind GOTRUE_METRICS_TOKEN, as a bearer token.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, form, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const METRICS_TOKEN = 'metrics-scrape-token-for-tests'
const SCRAPER = { authorization: `Bearer ${METRICS_TOKEN}` }

interface Sample { name: string; labels: Record<string, string>; value: number }
interface Exposition { types: Map<string, string>; samples: Sample[] }

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"'
const VALUE = '(?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|[-+]?Inf|NaN)'
const SAMPLE_RE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*)?\\})? (${VALUE})$`)
const HELP_RE = new RegExp(`^# HELP (${NAME}) .*$`)
const TYPE_RE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`)

/** Parses the text format line by line; every line must be # HELP, # TYPE or a sample of a declared family. */
function parse(text: string): Exposition {
  expect(text.endsWith('\n')).toBe(true)
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.slice(0, -1).split('\n')) {
    const type = TYPE_RE.exec(line)
    if (type) {
      expect(types.has(type[1] as string)).toBe(false) // one TYPE per family
      types.set(type[1] as string, type[2] as string)
      continue
    }
    if (HELP_RE.test(line)) continue
    const m = SAMPLE_RE.exec(line)
    expect({ line, valid: m !== null }).toEqual({ line, valid: true })
    if (!m) continue
    const name = m[1] as string
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '')
    expect({ name, declared: types.has(family) }).toEqual({ name, declared: true })
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k as string] = v as string
    samples.push({ name, labels, value: Number(m[3]) })
  }
  return { types, samples }
}

const find = (e: Exposition, name: string, labels: Record<string, string> = {}) =>
  e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

/** The requests counter for one route/method/status, or 0 when the series does not exist yet. */
const requests = (e: Exposition, route: string, method: string, status: string) =>
  find(e, 'gotrue_http_requests_total', { route, method, status })[0]?.value ?? 0

describe('GET /metrics on the API port, with GOTRUE_METRICS_TOKEN', () => {
  let s: TestServer
  let userId = ''
  const scrape = async () => {
    const res = await s.req('/metrics', { headers: SCRAPER })
    expect(res.status).toBe(200)
    return parse(await res.text())
  }
  /** Requests are counted after their response went out: scrape until `ready` holds (bounded), then assert. */
  const scrapeUntil = async (ready: (e: Exposition) => boolean) => {
    for (let i = 0; ; i++) {
      const e = await scrape()
      if (ready(e) || i >= 50) return e
      await Bun.sleep(20)
    }
  }

  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_METRICS_TOKEN: METRICS_TOKEN } })
    for (let i = 0; i < 3; i++) expect((await s.req('/settings')).status).toBe(200)
    const created = await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email: 'metered@example.com', password: 'metered-password' } })
    expect(created.status).toBe(200)
    userId = (await body(created)).id as string
    for (let i = 0; i < 2; i++) expect((await s.req(`/admin/users/${userId}`, { headers: OPERATOR })).status).toBe(200)
    expect((await s.req(`/admin/users/${crypto.randomUUID()}`, { headers: OPERATOR })).status).toBe(404)
    expect((await s.req(`/no-such-route-${crypto.randomUUID()}`)).status).toBe(404)
  })
  afterAll(() => s.stop())

  test('200 text/plain in the Prometheus text format, every line valid', async () => {
    const res = await s.req('/metrics', { headers: SCRAPER })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    const e = parse(await res.text())
    expect(e.types.get('gotrue_http_requests_total')).toBe('counter')
    expect(e.types.get('gotrue_http_request_duration_seconds')).toBe('histogram')
  })

  test('requests are counted exactly by route, method and status', async () => {
    const e = await scrapeUntil((x) => requests(x, '/settings', 'GET', '200') >= 3 && requests(x, '/admin/users/:user_id', 'GET', '404') >= 1)
    expect(requests(e, '/settings', 'GET', '200')).toBe(3)
    expect(requests(e, '/admin/users', 'POST', '200')).toBe(1)
    expect(requests(e, '/admin/users/:user_id', 'GET', '200')).toBe(2)
    expect(requests(e, '/admin/users/:user_id', 'GET', '404')).toBe(1)
    expect(requests(e, '/settings', 'POST', '200')).toBe(0)
  })

  test('route labels are patterns: no raw id or unknown path becomes a series', async () => {
    const e = await scrape()
    const routes = new Set(e.samples.map((x) => x.labels.route).filter((r): r is string => r !== undefined))
    expect(routes.has('/admin/users/:user_id')).toBe(true)
    for (const r of routes) {
      expect(r).not.toContain(userId)
      expect(r).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/)
      expect(r).not.toContain('no-such-route')
    }
  })

  test('histograms are cumulative, +Inf equals _count, and _count equals the requests of that route', async () => {
    const e = await scrapeUntil((x) => requests(x, '/settings', 'GET', '200') >= 3)
    const routes = new Set(find(e, 'gotrue_http_request_duration_seconds_count').map((x) => x.labels.route as string))
    expect(routes.has('/settings')).toBe(true)
    for (const route of routes) {
      const buckets = find(e, 'gotrue_http_request_duration_seconds_bucket', { route })
      const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)))
      expect(les.at(-1)).toBe(Infinity)
      expect(les).toEqual([...les].sort((a, b) => a - b))
      for (let i = 1; i < buckets.length; i++) expect((buckets[i] as Sample).value).toBeGreaterThanOrEqual((buckets[i - 1] as Sample).value)
      const [count] = find(e, 'gotrue_http_request_duration_seconds_count', { route })
      const [sum] = find(e, 'gotrue_http_request_duration_seconds_sum', { route })
      expect(buckets.at(-1)?.value).toBe(count?.value as number)
      expect(sum?.value as number).toBeGreaterThanOrEqual(0)
      const total = find(e, 'gotrue_http_requests_total', { route }).reduce((n, x) => n + x.value, 0)
      expect({ route, count: count?.value }).toEqual({ route, count: total })
    }
    expect(find(e, 'gotrue_http_request_duration_seconds_count', { route: '/settings' })[0]?.value).toBe(3)
  })

  test('gauges: password hash queue, database operations in flight, resident memory', async () => {
    const e = await scrape()
    for (const name of ['gotrue_password_hash_queue', 'gotrue_db_operations_in_flight', 'process_resident_memory_bytes']) {
      expect({ name, type: e.types.get(name) }).toEqual({ name, type: 'gauge' })
      const [sample] = find(e, name)
      expect(Number.isFinite(sample?.value)).toBe(true)
      expect(sample?.value as number).toBeGreaterThanOrEqual(0)
    }
    expect(find(e, 'process_resident_memory_bytes')[0]?.value as number).toBeGreaterThan(0)
  })
})

describe('who may read /metrics on the API port', () => {
  test('without GOTRUE_METRICS_TOKEN (the default) it is not served there: 404, as for any unknown path', async () => {
    const s = await startServer()
    try {
      const res = await s.req('/metrics')
      expect(res.status).toBe(404)
      expect(await body(res)).toEqual({ code: 404, msg: '404 page not found' })
    } finally { await s.stop() }
  })

  test('with it: no token, another token, a token with a different case or length, or another scheme → 401', async () => {
    const s = await startServer({ env: { GOTRUE_METRICS_TOKEN: METRICS_TOKEN } })
    try {
      for (const authorization of [undefined, 'Bearer operator-token-for-tests', `Bearer ${METRICS_TOKEN.toUpperCase()}`, `Bearer ${METRICS_TOKEN}x`, `Bearer ${METRICS_TOKEN.slice(0, -1)}`, `Basic ${btoa(`x:${METRICS_TOKEN}`)}`]) {
        const res = await s.req('/metrics', { headers: authorization ? { authorization } : {} })
        expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 })
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
        expect(await body(res)).toEqual({ code: 401, msg: 'Invalid metrics token' })
      }
      expect((await s.req('/metrics', { headers: SCRAPER })).status).toBe(200)
    } finally { await s.stop() }
  })
})

describe('GOTRUE_METRICS_ENABLED=false', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_METRICS_ENABLED: 'false', GOTRUE_METRICS_TOKEN: METRICS_TOKEN } }) })
  afterAll(() => s.stop())

  test('GET /metrics is 404 in the GoTrue shape, even with the token', async () => {
    const res = await s.req('/metrics', { headers: SCRAPER })
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: '404 page not found' })
  })
})

/** A port nobody listens on right now, for the metrics listener. */
function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const { port } = probe
  probe.stop(true)
  return port
}

describe('GOTRUE_METRICS_PORT', () => {
  let s: TestServer
  let port = 0
  beforeAll(async () => {
    port = freePort()
    s = await startServer({ env: { GOTRUE_METRICS_PORT: String(port) } })
  })
  afterAll(() => s.stop())

  test('/metrics is served on its own port and counts the API traffic', async () => {
    expect((await s.req('/settings')).status).toBe(200)
    let e: Exposition | undefined
    for (let i = 0; i < 50 && requests(e ?? { types: new Map(), samples: [] }, '/settings', 'GET', '200') < 1; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
      e = parse(await res.text())
      await Bun.sleep(10)
    }
    expect(requests(e as Exposition, '/settings', 'GET', '200')).toBe(1)
  })

  test('the API port answers 404 for /metrics; the metrics port serves nothing else', async () => {
    const api = await s.req('/metrics')
    expect(api.status).toBe(404)
    expect(await body(api)).toEqual({ code: 404, msg: '404 page not found' })
    expect((await fetch(`http://127.0.0.1:${port}/settings`)).status).toBe(404)
  })
})

describe('GOTRUE_METRICS_PORT with GOTRUE_METRICS_TOKEN', () => {
  let s: TestServer
  let port = 0
  beforeAll(async () => {
    port = freePort()
    s = await startServer({ env: { GOTRUE_METRICS_PORT: String(port), GOTRUE_METRICS_TOKEN: METRICS_TOKEN } })
  })
  afterAll(() => s.stop())

  test('the metrics port asks for the token too; the API port still does not serve /metrics', async () => {
    const denied = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toBe('Bearer')
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401)
    const ok = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: SCRAPER })
    expect(ok.status).toBe(200)
    parse(await ok.text())
    expect((await s.req('/metrics', { headers: SCRAPER })).status).toBe(404)
  })
})

describe('account flows, mails and webhooks by outcome', () => {
  let s: TestServer
  let hooks: WebhookReceiver
  const scrape = async () => parse(await (await s.req('/metrics', { headers: SCRAPER })).text())
  const attempts = (e: Exposition, flow: string, outcome: string) => find(e, 'gotrue_auth_attempts_total', { flow, outcome })[0]?.value ?? 0
  const password = 'flow-password-1'

  beforeAll(async () => {
    hooks = startWebhookReceiver()
    s = await startServer({ env: {
      GOTRUE_METRICS_TOKEN: METRICS_TOKEN, GOTRUE_RATE_LIMIT_VERIFY: '2', GOTRUE_SMTP_MAX_FREQUENCY: '0',
      GOTRUE_WEBHOOK_URL: hooks.url, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true', GOTRUE_WEBHOOK_EVENTS: 'login', GOTRUE_WEBHOOK_RETRIES: '1', GOTRUE_WEBHOOK_TIMEOUT_SEC: '1',
    } })
  })
  afterAll(async () => { await s.stop(); await hooks.stop() })

  test('each flow counted once per attempt, by outcome; mails sent and failed; webhook calls', async () => {
    expect((await s.req('/signup', { method: 'POST', json: { email: 'flow@example.com', password } })).status).toBe(200)
    const token = tokenFromMail(await s.smtp.waitForMail('flow@example.com'), 'confirmation_token')
    expect((await s.req('/signup', { method: 'POST', json: { email: 'not-an-email', password } })).status).toBe(422)
    s.smtp.failNext()
    expect((await s.req('/signup', { method: 'POST', json: { email: 'unlucky@example.com', password } })).status).toBe(500)
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).toBe(200)
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).not.toBe(200)
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).toBe(429)
    const login = await s.req('/token', form({ grant_type: 'password', username: 'flow@example.com', password }))
    expect(login.status).toBe(200)
    const { refresh_token } = await body<{ refresh_token: string }>(login)
    expect((await s.req('/token', form({ grant_type: 'password', username: 'flow@example.com', password: 'wrong-password' }))).status).toBe(400)
    expect((await s.req('/token', form({ grant_type: 'refresh_token', refresh_token }))).status).toBe(200)
    expect((await s.req('/token', form({ grant_type: 'refresh_token', refresh_token: 'not-a-token' }))).status).toBe(400)
    hooks.reply({ status: 500 }, { status: 500 })
    expect((await s.req('/token', form({ grant_type: 'password', username: 'flow@example.com', password }))).status).not.toBe(200)
    expect((await s.req('/recover', { method: 'POST', json: { email: 'flow@example.com' } })).status).toBe(200)
    await s.smtp.waitForMail('flow@example.com', { count: 2 })

    let e = await scrape()
    for (let i = 0; i < 50 && attempts(e, 'recovery', 'ok') < 1; i++) { await Bun.sleep(20); e = await scrape() }
    expect(e.types.get('gotrue_auth_attempts_total')).toBe('counter')
    const got = Object.fromEntries(find(e, 'gotrue_auth_attempts_total').map((x) => [`${x.labels.flow}/${x.labels.outcome}`, x.value]))
    expect(got).toEqual({
      'signup/ok': 1, 'signup/bad_credentials': 1, 'signup/error': 1,
      'verification/ok': 1, 'verification/bad_credentials': 1, 'verification/limited': 1,
      // The refused login webhook makes that login a 4xx, as the reference answers it.
      'login/ok': 1, 'login/bad_credentials': 2,
      'refresh/ok': 1, 'refresh/bad_credentials': 1, 'recovery/ok': 1,
    })
    expect(find(e, 'gotrue_mails_total', { result: 'sent' })[0]?.value).toBe(2)
    expect(find(e, 'gotrue_mails_total', { result: 'failed' })[0]?.value).toBe(1)
    expect(find(e, 'gotrue_webhook_calls_total', { event: 'login', outcome: 'ok' })[0]?.value).toBe(1)
    expect(find(e, 'gotrue_webhook_calls_total', { event: 'login', outcome: 'error' })[0]?.value).toBe(1)
  })
})
