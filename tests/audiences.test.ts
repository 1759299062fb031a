// Audiences (X-JWT-AUD) on /signup: a signup creates users only in a known audience (JWT_AUD, one listed in
// JWT_AUDIENCES, or one that already has users), and the per-email limit counts one address across audiences.
// Otherwise every made-up header value would be a fresh audience: one more user and one more mail per value.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { body, startServer, type TestServer } from './harness.ts'
import { OPERATOR } from './helpers.ts'

let clients = 0
const client = () => `198.51.100.${++clients}` // a fresh client per request: only the per-email limit applies

let s: TestServer
beforeAll(async () => {
  s = await startServer({ env: {
    GOTRUE_JWT_AUDIENCES: 'shop.example.com, blog.example.com', GOTRUE_RATE_LIMIT_OTP: '3', GOTRUE_RATE_LIMIT_HEADER: 'X-Client-IP',
  } })
})
afterAll(() => s.stop())

const signup = (email: string, aud?: string) => s.req('/signup', {
  method: 'POST', json: { email, password: 'password-1' }, headers: { 'x-client-ip': client(), ...(aud ? { 'x-jwt-aud': aud } : {}) },
})
const audiencesOf = async (email: string) =>
  (await s.db.all<{ aud: string }>('SELECT aud FROM {users} WHERE email_key = ? ORDER BY aud', [email])).map((r) => r.aud)

describe('X-JWT-AUD on /signup', () => {
  test('ten made-up audiences: 400 Invalid audience each, no user, no mail, and the address is not limited by them', async () => {
    const email = 'victim@example.com'
    for (let i = 0; i < 10; i++) {
      const res = await signup(email, `junk-${i}.example`)
      expect(res.status).toBe(400)
      expect(await body(res)).toEqual({ code: 400, msg: 'Invalid audience' })
    }
    expect(await audiencesOf(email)).toEqual([])
    expect(s.smtp.mailsTo(email)).toHaveLength(0)
    // The refused requests did not spend the address's per-email budget.
    expect((await signup(email)).status).toBe(200)
    expect(await audiencesOf(email)).toEqual(['api.netlify.com'])
  })

  test('known audiences: JWT_AUD, one listed in GOTRUE_JWT_AUDIENCES, one that already has users', async () => {
    const made = await s.req('/admin/users', { method: 'POST', json: { email: 'first@tenant.example' }, headers: { ...OPERATOR, 'x-jwt-aud': 'tenant.example' } })
    expect(made.status).toBe(200)
    for (const [email, aud] of [['a@example.com', undefined], ['b@example.com', 'shop.example.com'], ['c@example.com', 'tenant.example']] as const) {
      const res = await signup(email, aud)
      expect(res.status).toBe(200)
      expect((await body(res)).aud).toBe(aud ?? 'api.netlify.com')
    }
  })

  test('the per-email limit counts one address across audiences: the 4th mail to it is refused', async () => {
    const email = 'many@example.com'
    for (const aud of [undefined, 'shop.example.com', 'blog.example.com']) expect((await signup(email, aud)).status).toBe(200)
    const res = await signup(email.toUpperCase(), 'tenant.example')
    expect(res.status).toBe(429)
    expect(await audiencesOf(email)).toEqual(['api.netlify.com', 'blog.example.com', 'shop.example.com'])
    expect(s.smtp.mailsTo(email)).toHaveLength(3)
  })
})
