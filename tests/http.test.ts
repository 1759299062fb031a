// The HTTP base every route shares: error shapes, CORS, request ids, body cap, no-store.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, startServer, type TestServer } from './harness.ts'

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
