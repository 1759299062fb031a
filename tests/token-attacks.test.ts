// Token attacks: forged, altered, stale or misused tokens against the routes that trust them. Access tokens are
// HS256 with a required `exp` (lib/jwt.ts); anything else — `alg: none`, RS256/HS512 headers (algorithm
// confusion), another key, a changed payload, an expired or not-yet-valid token — is a 401 `Invalid token: …`
// that also clears the JWT cookie. Refresh tokens are opaque and only ever yield their own, still existing user.
// Our messages come from jose rather than jwt-go, so a few differ in wording from the reference (see report).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { body, form, JWT_SECRET, startServer, type TestServer } from './harness.ts'
import { login, OPERATOR, PASSWORD } from './helpers.ts'

const AUD = 'api.netlify.com'
type Json = Record<string, unknown>
interface Session { access_token: string; refresh_token: string }

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const mac = (alg: 'sha256' | 'sha512', key: string, input: string) => createHmac(alg, key).update(input).digest('base64url')
/** A compact JWS with any header, signed (or not) however the attacker likes. */
function jws(header: Json, payload: Json, sign: (input: string) => string = (i) => mac('sha256', JWT_SECRET, i)): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${sign(input)}`
}
const HS256 = { alg: 'HS256', typ: 'JWT', kid: 'nf-ident' }
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const parts = (jwt: string) => jwt.split('.') as [string, string, string]
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(parts(jwt)[1], 'base64url').toString()) as Json

let s: TestServer
const alice = { email: 'alice@example.com', id: '', session: { access_token: '', refresh_token: '' } as Session }
const bob = { email: 'bob@example.com', id: '' }
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600
/** Alice's genuine claims, to be altered by each attack. */
const aliceClaims = (): Json => claimsOf(alice.session.access_token)

const getUser = (token: string, headers: Record<string, string> = {}) =>
  s.req('/user', { headers: { authorization: `Bearer ${token}`, ...headers } })
const refresh = (token: string, extra: Record<string, string> = {}) => s.req('/token', form({ grant_type: 'refresh_token', refresh_token: token, ...extra }))

/** 401 with the exact message, and the JWT cookie cleared (GoTrue does so on every token failure). */
async function expectRefused(res: Response, reason: string): Promise<void> {
  expect(res.status).toBe(401)
  expect(await body(res)).toEqual({ code: 401, msg: `Invalid token: ${reason}` })
  expect(res.headers.get('set-cookie') ?? '').toStartWith('nf_jwt=;')
  expect(res.headers.get('set-cookie') ?? '').toContain('Max-Age=0')
}

beforeAll(async () => {
  s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } })
  for (const u of [alice, bob]) {
    const res = await s.req('/signup', { method: 'POST', json: { email: u.email, password: PASSWORD } })
    u.id = (await body<{ id: string }>(res)).id
  }
  alice.session = await body<Session>(await login(s, alice.email))
  // The genuine token works, so every refusal below is caused by the one thing the attack changed.
  expect((await getUser(alice.session.access_token)).status).toBe(200)
})
afterAll(() => s.stop())

describe('forged access tokens on GET /user', () => {
  test.each(['none', 'None', 'NONE'])('alg "%s" with an empty signature: signing method is invalid', async (alg) => {
    await expectRefused(await getUser(jws({ alg, typ: 'JWT' }, aliceClaims(), () => '')), `signing method ${alg} is invalid`)
  })

  test('HS/RS confusion: alg RS256 with an HMAC made with the secret, or with an RSA public key as the HMAC key', async () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    for (const key of [JWT_SECRET, pem]) {
      const forged = jws({ alg: 'RS256', typ: 'JWT' }, aliceClaims(), (i) => mac('sha256', key, i))
      await expectRefused(await getUser(forged), 'signing method RS256 is invalid')
    }
  })

  test('another algorithm of the same family (HS512 with the right secret) is not accepted either', async () => {
    const forged = jws({ alg: 'HS512', typ: 'JWT' }, aliceClaims(), (i) => mac('sha512', JWT_SECRET, i))
    await expectRefused(await getUser(forged), 'signing method HS512 is invalid')
  })

  test('signed with another key, or with a key embedded in the header (jwk): signature is invalid', async () => {
    const attacker = 'attacker-secret-that-is-long-enough-too'
    await expectRefused(await getUser(jws(HS256, aliceClaims(), (i) => mac('sha256', attacker, i))), 'signature is invalid')
    const embedded = { ...HS256, jwk: { kty: 'oct', k: Buffer.from(attacker).toString('base64url') } }
    await expectRefused(await getUser(jws(embedded, aliceClaims(), (i) => mac('sha256', attacker, i))), 'signature is invalid')
    await expectRefused(await getUser(jws(HS256, aliceClaims(), () => '')), 'signature is invalid')
  })

  test('tampered payload with the signature kept: role, app_metadata (admin) or sub changed → signature is invalid', async () => {
    const [header, , signature] = parts(alice.session.access_token)
    for (const change of [{ role: 'admin' }, { app_metadata: { provider: 'email', roles: ['admin'] } }, { sub: bob.id, email: bob.email }]) {
      const tampered = `${header}.${b64({ ...aliceClaims(), ...change })}.${signature}`
      await expectRefused(await getUser(tampered), 'signature is invalid')
      await expectRefused(await s.req('/admin/users', { headers: { authorization: `Bearer ${tampered}` } }), 'signature is invalid')
    }
  })

  test('expired: exp in the past, or the server clock moved past a genuine token\'s exp → token is expired', async () => {
    await expectRefused(await getUser(jws(HS256, { ...aliceClaims(), exp: Math.floor(Date.now() / 1000) - 1 })), 'token is expired')
    s.clock.advance(3601)
    try {
      await expectRefused(await getUser(alice.session.access_token), 'token is expired')
    } finally { s.clock.reset() }
    expect((await getUser(alice.session.access_token)).status).toBe(200)
  })

  test('missing exp (the reference accepts it; we do not), or exp that is not a number', async () => {
    const { exp: _, ...noExp } = aliceClaims()
    await expectRefused(await getUser(jws(HS256, noExp)), 'missing required "exp" claim')
    await expectRefused(await getUser(jws(HS256, { ...aliceClaims(), exp: String(inAnHour()) })), '"exp" claim must be a number')
  })

  test('nbf in the future → refused', async () => {
    await expectRefused(await getUser(jws(HS256, { ...aliceClaims(), nbf: inAnHour() - 60 })), '"nbf" claim timestamp check failed')
  })

  test('a header with an unknown critical extension (crit) → malformed', async () => {
    await expectRefused(await getUser(jws({ ...HS256, crit: ['x-attack'], 'x-attack': 1 }, aliceClaims())), 'token is malformed: unsupported "crit" header')
  })

  test('non-canonical signature encodings (unused low bits of the last character set, padding, junk) → malformed', async () => {
    const genuine = (await body<Session>(await login(s, alice.email))).access_token
    const [h, p, sig] = parts(genuine)
    expect(sig).toHaveLength(43) // 32 bytes: the last character carries 4 bits of signature and 2 unused ones
    const last = ALPHABET.indexOf(sig.at(-1) as string)
    const malleated = [1, 2, 3].map((bits) => `${h}.${p}.${sig.slice(0, -1)}${ALPHABET[last ^ bits]}`)
    for (const t of malleated) expect(Buffer.from(parts(t)[2], 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true)
    // Uncached: no variant verifies before the genuine token has been seen.
    for (const t of malleated) await expectRefused(await getUser(t), 'token is malformed: Invalid Compact JWS')
    // The genuine token is verified (and cached); a variant must neither hit that entry nor verify on its own.
    expect((await getUser(genuine)).status).toBe(200)
    for (const t of malleated) await expectRefused(await getUser(t), 'token is malformed: Invalid Compact JWS')
    for (const t of [`${genuine}=`, `${genuine}==`, `${h}.${p}.${sig.slice(0, 20)}+${sig.slice(21)}`, `${h}.${p}.${sig.slice(0, 20)}/${sig.slice(21)}`, `${genuine}A`]) {
      expect((await getUser(t)).status).toBe(401)
    }
    expect((await getUser(genuine)).status).toBe(200)
  })

  test('non-canonical header or payload encodings are refused even when signed with the right secret', async () => {
    /** The segment with the lowest unused bit of its last character flipped: the same bytes, another string. */
    const malleate = (seg: string) => {
      expect(seg.length % 4).toBeGreaterThan(1) // a partial last group: there are unused bits
      return `${seg.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(seg.at(-1) as string) ^ 1]}`
    }
    /** A base64url segment of `make(pad)` with a partial last group, growing the padding until it has one. */
    const segment = (make: (pad: string) => Json) => {
      for (let pad = ''; ; pad += 'x') if (b64(make(pad)).length % 4 > 1) return b64(make(pad))
    }
    const h = segment((pad) => ({ ...HS256, kid: `nf-ident${pad}` }))
    const p = segment((pad) => ({ ...aliceClaims(), pad }))
    const signed = (hh: string, pp: string) => `${hh}.${pp}.${mac('sha256', JWT_SECRET, `${hh}.${pp}`)}`
    expect((await getUser(signed(h, p))).status).toBe(200) // canonical: accepted
    await expectRefused(await getUser(signed(malleate(h), p)), 'token is malformed: Invalid Compact JWS')
    await expectRefused(await getUser(signed(h, malleate(p))), 'token is malformed: Invalid Compact JWS')
  })

  test('kid changed or removed, signed with the right secret: accepted (one HS256 key; kid is not consulted)', async () => {
    // lib/jwt.ts verifies against the single secret whatever the kid says, so only the secret's holder can mint
    // such a token. Tokens minted by netlify's GoTrue carry no kid at all and must keep working.
    for (const header of [{ ...HS256, kid: 'attacker-key' }, { alg: 'HS256', typ: 'JWT' }]) {
      const res = await getUser(jws(header, aliceClaims()))
      expect(res.status).toBe(200)
      expect((await body(res)).id).toBe(alice.id)
    }
  })

  test('wrong audience: X-JWT-AUD differing from the token\'s aud, or a token without aud → 400', async () => {
    const res = await getUser(alice.session.access_token, { 'x-jwt-aud': 'another.audience.com' })
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: "Token audience doesn't match request audience" })
    const { aud: _, ...noAud } = aliceClaims()
    const res2 = await getUser(jws(HS256, noAud))
    expect(res2.status).toBe(400)
    expect(await body(res2)).toEqual({ code: 400, msg: "Token audience doesn't match request audience" })
    expect((await getUser(alice.session.access_token, { 'x-jwt-aud': AUD })).status).toBe(200)
  })

  test('a validly signed token whose sub is not a user id → 400 Could not read User ID claim', async () => {
    const res = await getUser(jws(HS256, { ...aliceClaims(), sub: "1' OR '1'='1" }))
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ code: 400, msg: 'Could not read User ID claim' })
  })

  test('token confusion: a refresh token as a bearer token, an access token as a refresh token', async () => {
    await expectRefused(await getUser(alice.session.refresh_token), 'token contains an invalid number of segments')
    const res = await refresh(alice.session.access_token)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
  })
})

describe('refresh tokens only ever yield their own, existing user', () => {
  test('a refresh token sent with another user\'s username and password returns only its own user', async () => {
    const own = await body<Session>(await login(s, bob.email))
    const res = await refresh(own.refresh_token, { username: alice.email, password: PASSWORD })
    expect(res.status).toBe(200)
    const session = await body<Session>(res)
    expect([claimsOf(session.access_token).sub, claimsOf(session.access_token).email]).toEqual([bob.id, bob.email])
    const me = await body(await getUser(session.access_token))
    expect([me.id, me.email]).toEqual([bob.id, bob.email])
  })

  test('after the user is deleted (admin API): its refresh token is refused, its access token finds no user', async () => {
    const email = 'doomed@example.com'
    const { id } = await body<{ id: string }>(await s.req('/signup', { method: 'POST', json: { email, password: PASSWORD } }))
    const session = await body<Session>(await login(s, email))
    const del = await s.req(`/admin/users/${id}`, { method: 'DELETE', headers: OPERATOR })
    expect(del.status).toBe(200)
    const res = await refresh(session.refresh_token)
    expect(res.status).toBe(400)
    expect(await body(res)).toEqual({ error: 'invalid_grant', error_description: 'Invalid Refresh Token' })
    // The access token is still validly signed until it expires, but the user behind it is gone.
    const me = await getUser(session.access_token)
    expect(me.status).toBe(404)
    expect(await body(me)).toEqual({ code: 404, msg: 'User not found' })
    const put = await s.req('/user', { method: 'PUT', json: { data: { back: true } }, headers: { authorization: `Bearer ${session.access_token}` } })
    expect(put.status).toBe(404)
    expect(await s.db.get('SELECT id FROM {users} WHERE id = ?', [id])).toBeNull()
  })
})

describe('admin credentials', () => {
  const invite = (authorization: string, email: string) => s.req('/invite', { method: 'POST', json: { email }, headers: { authorization } })

  test.each([
    ['one character short', 'operator-token-for-test'],
    ['one character longer', 'operator-token-for-testss'],
    ['different case', 'OPERATOR-TOKEN-FOR-TESTS'],
  ])('an operator-token lookalike (%s) → 401 on /invite, nobody invited', async (_name, lookalike) => {
    const email = `lookalike-${lookalike.length}-${lookalike.charCodeAt(0)}@example.com`
    const res = await invite(`Bearer ${lookalike}`, email)
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'Invalid token: token contains an invalid number of segments' })
    expect(await s.db.get('SELECT id FROM {users} WHERE email_key = ?', [email])).toBeNull()
    expect(s.smtp.mailsTo(email)).toEqual([])
  })

  test('a genuine token of a user who is not an admin → 401 User not allowed; the real operator token works', async () => {
    const res = await invite(`Bearer ${alice.session.access_token}`, 'by-alice@example.com')
    expect(res.status).toBe(401)
    expect(await body(res)).toEqual({ code: 401, msg: 'User not allowed' })
    expect((await invite('Bearer operator-token-for-tests', 'by-operator@example.com')).status).toBe(200)
  })
})
