// lib/jwt.ts signs access tokens and verifies HS256 on node:crypto (the hot path); jose is the reference: the same
// claims must give the same bytes, and jose must accept what we sign and refuse what we refuse.
import { describe, expect, test } from 'bun:test'
import { jwtVerify, SignJWT } from 'jose'
import { createLocalJWKSet, importJWK, SignJWT as JoseSign } from 'jose'
import { signAccessToken, TokenError, verifyAccessToken, verifyHS256Sync } from '../lib/jwt.ts'
import { generateJwk, keySetOf } from '../lib/keys.ts'

const SECRET = 'a-secret-that-is-long-enough-for-hs256'
const key = new TextEncoder().encode(SECRET)
const claims = (extra: Record<string, unknown> = {}) => ({
  aud: 'api.netlify.com', exp: Math.floor(Date.now() / 1000) + 3600, sub: '6f1d2c3e-1111-4222-8333-944455556666',
  email: 'ünïcödé+tag@example.com', app_metadata: { provider: 'email', roles: ['admin'] }, user_metadata: { full_name: 'A "quoted" name' }, ...extra,
})

describe('signAccessToken', () => {
  test('byte-identical to jose SignJWT with the same header and claims', async () => {
    for (const c of [claims(), claims({ aud: undefined }), claims({ user_metadata: { nested: { a: [1, 2, { b: null }] } } })]) {
      const ours = await signAccessToken(c as never, SECRET)
      const payload = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined && v !== ''))
      const theirs = await new SignJWT(payload).setProtectedHeader({ alg: 'HS256', kid: 'nf-ident', typ: 'JWT' }).sign(key)
      expect(ours).toBe(theirs)
      expect((await jwtVerify(ours, key)).payload.sub).toBe(c.sub)
    }
  })
})

describe('verifyHS256Sync agrees with jose', () => {
  const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256' }) =>
    new SignJWT(payload).setProtectedHeader(header as { alg: string }).sign(key)
  test('accepts what jose accepts', async () => {
    const t = await sign(claims())
    expect(verifyHS256Sync(t, SECRET).sub).toBe(claims().sub)
    expect((await jwtVerify(t, key)).payload.sub).toBe(claims().sub)
  })
  test('refuses what jose refuses: expired, future nbf, wrong key, crit, other alg, not a JWS', async () => {
    const now = Math.floor(Date.now() / 1000)
    const bad = [
      await sign(claims({ exp: now - 10 })),
      await sign(claims({ nbf: now + 600 })),
      await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('another-secret-another-secret-12')),
      await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512' }).sign(key),
      'a.b',
      'not-base64!.eyJ9.x',
    ]
    for (const t of bad) {
      expect(() => verifyHS256Sync(t, SECRET)).toThrow(TokenError)
      await expect(jwtVerify(t, key, { algorithms: ['HS256'] })).rejects.toThrow()
    }
    // a `crit` header (jose will not even sign one it does not know): built by hand, both refuse it
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const input = `${enc({ alg: 'HS256', crit: ['x-custom'], 'x-custom': 1 })}.${enc(claims())}`
    const crit = `${input}.${require('node:crypto').createHmac('sha256', SECRET).update(input).digest('base64url')}`
    expect(() => verifyHS256Sync(crit, SECRET)).toThrow(TokenError)
    await expect(jwtVerify(crit, key)).rejects.toThrow()
  })
  test('exp is required unless the caller says otherwise', async () => {
    const t = await sign({ sub: 'x' })
    expect(() => verifyHS256Sync(t, SECRET)).toThrow('missing required "exp" claim')
    expect(verifyHS256Sync(t, SECRET, { requireExp: false }).sub).toBe('x')
  })
})

describe('the verified-token cache', () => {
  test('a cached token still expires, is cached per secret, and a one-byte change is verified afresh', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60
    const t = await signAccessToken(claims({ exp }) as never, SECRET)
    expect(verifyHS256Sync(t, SECRET).exp).toBe(exp) // now cached
    expect(verifyHS256Sync(t, SECRET).exp).toBe(exp) // a hit
    expect(() => verifyHS256Sync(t, SECRET, { now: new Date((exp + 1) * 1000) })).toThrow('token is expired')
    expect(() => verifyHS256Sync(t, 'another-secret-another-secret-12')).toThrow('signature is invalid')
    const tampered = `${t.slice(0, -2)}${t.at(-2) === 'A' ? 'B' : 'A'}${t.slice(-1)}`
    expect(() => verifyHS256Sync(tampered, SECRET)).toThrow(TokenError)
  })
})

describe('the verified-token cache is bounded by bytes and by time', () => {
  /** Heap in use after a full collection, in MiB. */
  const heapMiB = () => { Bun.gc(true); return process.memoryUsage().heapUsed / 2 ** 20 }
  /** `n` distinct valid tokens of about 12 KiB each (a user can make its metadata, hence its tokens, that large). */
  const bigTokens = (n: number, exp: number) => Promise.all(Array.from({ length: n }, (_, i) =>
    signAccessToken(claims({ exp, sub: `user-${i}`, user_metadata: { blob: `${'x'.repeat(9000)}${i}` } }) as never, SECRET)))

  test('4,000 large tokens do not stay in memory; once expired, what was kept is released', async () => {
    const exp = Math.floor(Date.now() / 1000) + 60
    let tokens = await bigTokens(4000, exp)
    const before = heapMiB()
    for (const t of tokens) expect(verifyHS256Sync(t, SECRET).exp).toBe(exp)
    // A count bound of thousands kept them all: about 4,000 x (12 KiB token + 9 KiB claims), over 80 MiB.
    expect(heapMiB() - before).toBeLessThan(40)
    tokens = []
    // Past their exp, the next verification sweeps them out.
    const later = new Date((exp + 1) * 1000)
    const fresh = await signAccessToken(claims({ exp: exp + 3600 }) as never, SECRET)
    expect(verifyHS256Sync(fresh, SECRET, { now: later }).exp).toBe(exp + 3600)
    expect(heapMiB() - before).toBeLessThan(4)
  })

  test('a token verified with one secret is not a hit for another: a replaced secret\'s tokens fail at once', async () => {
    const t = await signAccessToken(claims() as never, SECRET)
    expect(verifyHS256Sync(t, SECRET).sub).toBe(claims().sub)
    expect(() => verifyHS256Sync(t, 'the-replacing-secret-long-enough-for-hs256')).toThrow('signature is invalid')
    expect(verifyHS256Sync(t, SECRET).sub).toBe(claims().sub)
  })
})

describe('asymmetric keys agree with jose', () => {
  const keysFor = (alg: 'ES256' | 'EdDSA' | 'RS256' | 'HS256') => {
    const signing = { ...generateJwk(alg, `${alg}-signing`), key_ops: ['sign'] }
    return { signing, jwt: { secret: SECRET, keys: JSON.stringify([signing]), valid_methods: [] as string[] } }
  }
  for (const alg of ['ES256', 'EdDSA', 'RS256', 'HS256'] as const) {
    test(`${alg}: jose verifies what we sign (through our JWKS, or the key for HS256); we verify what jose signs`, async () => {
      const { signing, jwt } = keysFor(alg)
      const ours = await signAccessToken(claims() as never, jwt)
      const set = keySetOf(jwt)
      const joseKey = alg === 'HS256' ? await importJWK(signing as never, 'HS256') : createLocalJWKSet(set?.jwks as never)
      const { payload, protectedHeader } = await jwtVerify(ours, joseKey as never, { algorithms: [alg] })
      expect(protectedHeader).toEqual({ alg, kid: `${alg}-signing`, typ: 'JWT' })
      expect(payload.sub).toBe(claims().sub)
      const theirs = await new JoseSign(claims({ sub: 'signed-by-jose' })).setProtectedHeader({ alg, kid: `${alg}-signing` })
        .sign(await importJWK(signing as never, alg) as never)
      expect((await verifyAccessToken(theirs, jwt)).sub).toBe('signed-by-jose')
    })
  }
  test('without GOTRUE_JWT_KEYS the jwt block signs exactly as the secret did (same bytes)', async () => {
    const c = claims() as never
    expect(await signAccessToken(c, { secret: SECRET, keys: '', valid_methods: [] })).toBe(await signAccessToken(c, SECRET))
  })
  test('the cache holds a token for the key set that verified it only: another set verifies it afresh', async () => {
    const a = keysFor('ES256')
    const b = keysFor('ES256')
    const t = await signAccessToken(claims() as never, a.jwt)
    expect((await verifyAccessToken(t, a.jwt)).sub).toBe(claims().sub)
    expect((await verifyAccessToken(t, a.jwt)).sub).toBe(claims().sub) // a hit
    await expect(verifyAccessToken(t, b.jwt)).rejects.toThrow('signature is invalid') // same kid, other key
    await expect(verifyAccessToken(t, SECRET)).rejects.toThrow('signing method ES256 is invalid')
  })
})
