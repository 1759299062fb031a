// The HTTP base every route shares: error shapes, CORS, request ids, body cap, no-store.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, startServer, type TestServer } from './harness.ts'
import { OPERATOR } from './helpers.ts'

let s: TestServer
beforeAll(async () => { s = await startServer({ env: { GOTRUE_API_REQUEST_ID_HEADER: 'X-Trace-Id', GOTRUE_API_MAX_BODY_BYTES: '2048' } }) })
afterAll(() => s.stop())

describe('errors', () => {
  test('unknown route: 404 in the GoTrue shape', async () => {
    const res = await s.req('/no/such/route')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await body(res)).toEqual({ code: 404, msg: '404 page not found' })
  })

  test('a body over the cap: 413 in the GoTrue shape, before any route runs', async () => {
    const res = await s.req('/settings', { method: 'POST', body: 'x'.repeat(4096), headers: { 'content-type': 'application/json' } })
    expect(res.status).toBe(413)
    expect(await body(res)).toEqual({ code: 413, msg: 'Request body too large (limit 2048 bytes)' })
  })
})

/** POSTs `parts` as a streamed body: fetch sends it chunked (Transfer-Encoding: chunked, no Content-Length). */
function chunked(path: string, contentType: string, parts: Iterable<string>): Promise<Response> {
  const it = parts[Symbol.iterator]()
  const enc = new TextEncoder()
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      const next = it.next()
      if (next.done) c.close()
      else c.enqueue(enc.encode(next.value))
    },
  })
  return fetch(s.url + path, { method: 'POST', headers: { 'content-type': contentType }, body: stream, duplex: 'half' } as RequestInit)
}
/** `n` chunks of `size` bytes of 'x'. */
function* filler(n: number, size: number) { for (let i = 0; i < n; i++) yield 'x'.repeat(size) }

describe('the body cap holds for chunked bodies (no Content-Length)', () => {
  test('8 MiB chunked /signup: 413 in the GoTrue shape, and no user is stored', async () => {
    const email = `chunked-${crypto.randomUUID()}@example.com`
    const parts = (function* () {
      yield `{"email":"${email}","password":"chunked-password","data":{"blob":"`
      yield* filler(128, 64 * 1024)
      yield '"}}'
    })()
    const res = await chunked('/signup', 'application/json', parts)
    expect(res.status).toBe(413)
    // GoTrue's JSON, unless Bun's own cap (twice this one) was passed by a 64 KiB chunk first: then Bun's bare 413.
    const text = await res.text()
    if (text) expect(JSON.parse(text)).toEqual({ code: 413, msg: 'Request body too large (limit 2048 bytes)' })
    expect(await s.db.all('SELECT id FROM {users} WHERE email_key = ?', [email])).toHaveLength(0)
  })

  test('just over the cap in many small chunks: 413; a chunked body within the cap is served', async () => {
    const over = await chunked('/signup', 'application/json', filler(9, 256))
    expect(over.status).toBe(413)
    expect(await body(over)).toEqual({ code: 413, msg: 'Request body too large (limit 2048 bytes)' })
    const email = `small-chunked-${crypto.randomUUID()}@example.com`
    const json = JSON.stringify({ email, password: 'chunked-password', data: { note: 'y'.repeat(1000) } })
    const ok = await chunked('/signup', 'application/json', [json.slice(0, 10), json.slice(10, 500), json.slice(500)])
    expect(ok.status).toBe(200)
    expect((await body(ok)).email).toBe(email)
    expect((await body<{ user_metadata: { note: string } }>(await s.req(`/admin/users/${(await s.db.get<{ id: string }>('SELECT id FROM {users} WHERE email_key = ?', [email]))?.id}`, { headers: OPERATOR }))).user_metadata.note).toHaveLength(1000)
  })

  test('form-encoded /token, chunked: served within the cap, 413 over it', async () => {
    const email = `form-chunked-${crypto.randomUUID()}@example.com`
    const created = await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email, password: 'form-password', confirm: true } })
    expect(created.status).toBe(200)
    const fields = new URLSearchParams({ grant_type: 'password', username: email, password: 'form-password' }).toString()
    const ok = await chunked('/token', 'application/x-www-form-urlencoded', [fields.slice(0, 7), fields.slice(7)])
    expect(ok.status).toBe(200)
    expect(typeof (await body(ok)).access_token).toBe('string')
    const over = await chunked('/token', 'application/x-www-form-urlencoded', [fields, '&pad=', ...filler(4, 1024)])
    expect(over.status).toBe(413)
    expect(await body(over)).toEqual({ code: 413, msg: 'Request body too large (limit 2048 bytes)' })
  })
})

describe('CORS as the reference', () => {
  test('preflight: 204 with the allowed method and headers', async () => {
    const res = await s.req('/signup', {
      method: 'OPTIONS',
      headers: { origin: 'https://site.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-nf-client, authorization' },
    })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect(res.headers.get('access-control-allow-methods')).toBe('POST')
    expect(res.headers.get('access-control-allow-headers')).toContain('x-nf-client')
  })

  test('preflight for a method outside GET/POST/PUT/DELETE gets no allow-origin', async () => {
    const res = await s.req('/user', { method: 'OPTIONS', headers: { origin: 'https://x', 'access-control-request-method': 'PATCH' } })
    expect(res.status).toBe(204)
    expect(res.headers.get('access-control-allow-origin')).toBeNull()
  })

  test('simple requests with an Origin get allow-origin and credentials; all get Vary: Origin', async () => {
    const withOrigin = await s.req('/settings', { headers: { origin: 'https://site.example' } })
    expect(withOrigin.headers.get('access-control-allow-origin')).toBe('*')
    expect(withOrigin.headers.get('access-control-allow-credentials')).toBe('true')
    const without = await s.req('/settings')
    expect(without.headers.get('access-control-allow-origin')).toBeNull()
    expect(without.headers.get('vary')).toContain('Origin')
  })
})

describe('request ids and caching', () => {
  test('the configured header is inherited, else a UUID is generated; 5xx error_id would carry it', async () => {
    const inherited = await s.req('/settings', { headers: { 'x-trace-id': 'abc-123' } })
    expect(inherited.headers.get('x-request-id')).toBe('abc-123')
    const fresh = await s.req('/settings')
    expect(fresh.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('responses are not cacheable', async () => {
    expect((await s.req('/settings')).headers.get('cache-control')).toBe('no-store')
  })
})

describe('request bodies read as the reference reads them', () => {
  const post = (path: string, body: string | undefined, headers: Record<string, string> = {}, method = 'POST') =>
    fetch(`${s.url}${path}`, { method, body, headers })

  test('a JSON body without a JSON content type is decoded (plain fetch sends text/plain)', async () => {
    const email = `plain-${crypto.randomUUID().slice(0, 8)}@example.com`
    const res = await post('/signup', JSON.stringify({ email, password: 'correct-horse-battery' }))
    expect(res.status).toBe(200)
    expect((await body<{ email: string }>(res)).email).toBe(email)
    const none = await post('/recover', JSON.stringify({ email }), { 'content-type': '' })
    expect(none.status).toBe(200)
  })

  test('an unreadable body gets the route\'s own message (gotrue-js shows msg to people)', async () => {
    const cases: [string, string, string][] = [
      ['POST', '/signup', 'Could not read Signup params: '],
      ['POST', '/verify', 'Could not read verification params: '],
      ['POST', '/recover', 'Could not read verification params: '],
      ['POST', '/admin/users', 'Could not decode admin user params: '],
    ]
    for (const [method, path, prefix] of cases) {
      const headers = path.startsWith('/admin') ? OPERATOR : {}
      for (const [raw, type] of [['{"email":', 'application/json'], ['not json', 'text/plain']] as const) {
        const res = await post(path, raw, { ...headers, 'content-type': type }, method)
        const b = await body<{ code: number; msg: string }>(res)
        expect({ path, type, status: res.status, code: b.code, starts: b.msg.startsWith(prefix) }).toEqual({ path, type, status: 400, code: 400, starts: true })
      }
    }
  })

  test('an empty body is Go\'s decoder error EOF, as the reference answers it', async () => {
    const res = await post('/signup', undefined, { 'content-type': 'application/json' })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Could not read Signup params: EOF' })
  })

  test('a form body is still read as a form', async () => {
    const email = `form-${crypto.randomUUID().slice(0, 8)}@example.com`
    const res = await post('/signup', new URLSearchParams({ email, password: 'correct-horse-battery' }).toString(), { 'content-type': 'application/x-www-form-urlencoded' })
    expect(res.status).toBe(200)
  })
})
