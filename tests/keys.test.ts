// Signing keys (GOTRUE_JWT_KEYS, supabase/auth's format): tokens signed by the set's signing key, accepted by the
// key their kid names, published as public keys in /.well-known/jwks.json; every confusion between keys and
// algorithms refused; a relying party holding only the JWKS URL (jose's createRemoteJWKSet) follows a full
// rotation without refusing a valid token; per-site key sets in multi-instance mode.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createHmac, createPrivateKey, sign } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import { ConfigError, loadConfig } from '../lib/config.ts'
import { signHS256 } from '../lib/jwt.ts'
import { generateJwk } from '../lib/keys.ts'
import { body, JWT_SECRET, MYSQL_URL, startServer, type TestServer } from './harness.ts'
import { bearer, confirmedUser, login, OPERATOR, type Tokens } from './helpers.ts'

type Json = Record<string, unknown>
const jwk = (alg: 'ES256' | 'EdDSA' | 'RS256' | 'HS256', kid: string, ops: string[] = ['verify']): Json => ({ ...generateJwk(alg, kid), key_ops: ops })
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600
const claims = (sub: string, email: string): Json => ({ aud: 'api.netlify.com', exp: inAnHour(), sub, email, app_metadata: { provider: 'email' }, user_metadata: {} })

/** A compact JWS with any header, signed with a private JWK (as whoever holds it would). */
function signWith(key: Json, header: Json, payload: Json): string {
  const input = `${b64(header)}.${b64(payload)}`
  const data = Buffer.from(input)
  let sig: Buffer
  if (key.kty === 'oct') sig = createHmac('sha256', Buffer.from(key.k as string, 'base64url')).update(input).digest()
  else {
    const { kid: _k, alg: _a, key_ops: _o, use: _u, ...material } = key
    const k = createPrivateKey({ key: material as never, format: 'jwk' })
    sig = key.kty === 'EC' ? sign('sha256', data, { key: k, dsaEncoding: 'ieee-p1363' }) : sign(key.kty === 'OKP' ? null : 'sha256', data, k)
  }
  return `${input}.${sig.toString('base64url')}`
}
const hs = (secret: string | Buffer, header: Json, payload: Json) => {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const getUser = (s: TestServer, token: string) => s.req('/user', { headers: bearer(token) })
async function refused(s: TestServer, token: string, reason: string): Promise<void> {
  const res = await getUser(s, token)
  expect(res.status).toBe(401)
  expect((await body(res)).msg).toBe(`Invalid token: ${reason}`)
}

const ES = jwk('ES256', 'es-1', ['sign'])
const ED = jwk('EdDSA', 'ed-1')
const RS = jwk('RS256', 'rs-1')
const OCT = jwk('HS256', 'oct-1')

describe('a server with GOTRUE_JWT_KEYS', () => {
  let s: TestServer
  let user: { id: string; email: string; password: string }
  let tokens: Tokens
  beforeAll(async () => {
    s = await startServer({ smtp: false, env: { GOTRUE_JWT_KEYS: JSON.stringify([ES, ED, RS, OCT]), GOTRUE_JWT_ISSUER: 'https://id.example.com/' } })
    user = await confirmedUser(s)
    tokens = await body<Tokens>(await login(s, user.email, user.password))
  })
  afterAll(() => s.stop())
  const mine = () => claims(user.id, user.email)

  test('access tokens are signed by the key with key_ops ["sign"], with its kid, GoTrue\'s claims and iss', async () => {
    expect(decodeProtectedHeader(tokens.access_token)).toEqual({ alg: 'ES256', kid: 'es-1', typ: 'JWT' })
    const c = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] as string, 'base64url').toString()) as Json
    expect(c).toMatchObject({ aud: 'api.netlify.com', sub: user.id, email: user.email, iss: 'https://id.example.com/' })
    const res = await getUser(s, tokens.access_token)
    expect(res.status).toBe(200)
    expect((await body(res)).id).toBe(user.id)
  })

  test('JWKS: the public half of each asymmetric key, nothing private, never the symmetric one; cacheable', async () => {
    const res = await s.req('/.well-known/jwks.json')
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('public, max-age=600')
    const { keys } = await body<{ keys: Json[] }>(res)
    expect(keys.map((k) => k.kid).sort()).toEqual(['ed-1', 'es-1', 'rs-1'])
    for (const k of keys) {
      for (const secretMember of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth']) expect(k).not.toHaveProperty(secretMember)
      expect(k).toMatchObject({ use: 'sig', key_ops: ['verify'] })
    }
    expect(JSON.stringify(keys)).not.toContain(OCT.k as string)
  })

  test('discovery: issuer from GOTRUE_JWT_ISSUER and the jwks_uri under it', async () => {
    const res = await s.req('/.well-known/openid-configuration')
    expect(res.status).toBe(200)
    expect(await body(res)).toMatchObject({ issuer: 'https://id.example.com/', jwks_uri: 'https://id.example.com/.well-known/jwks.json', id_token_signing_alg_values_supported: ['ES256'] })
  })

  test('verify-only keys of each algorithm are accepted; so are HS256 tokens of the secret (kid nf-ident or none)', async () => {
    for (const k of [ED, RS, OCT]) expect((await getUser(s, signWith(k, { alg: k.alg, kid: k.kid, typ: 'JWT' }, mine()))).status).toBe(200)
    expect((await getUser(s, hs(JWT_SECRET, { alg: 'HS256', kid: 'nf-ident', typ: 'JWT' }, mine()))).status).toBe(200)
    expect((await getUser(s, hs(JWT_SECRET, { alg: 'HS256', typ: 'JWT' }, mine()))).status).toBe(200)
  })

  test('an unknown kid is refused, even with a valid signature by a key of its own', async () => {
    const stranger = jwk('ES256', 'es-2', ['sign'])
    await refused(s, signWith(stranger, { alg: 'ES256', kid: 'es-2' }, mine()), 'unrecognized JWT kid')
    await refused(s, hs(JWT_SECRET, { alg: 'HS256', kid: 'es-2' }, mine()), 'unrecognized JWT kid')
  })

  test('a header alg other than its key\'s is refused (ES256 key named, EdDSA signature; the secret under an asymmetric kid)', async () => {
    const ed2 = { ...ED, kid: 'es-1' }
    await refused(s, signWith(ed2, { alg: 'EdDSA', kid: 'es-1' }, mine()), 'signing method EdDSA does not match the key "es-1"')
    await refused(s, hs(JWT_SECRET, { alg: 'HS256', kid: 'rs-1' }, mine()), 'signing method HS256 does not match the key "rs-1"')
  })

  test('symmetric alg against an asymmetric key: HS256 keyed with the published public key (JWK, PEM or raw) is refused', async () => {
    const { keys } = await body<{ keys: Json[] }>(await s.req('/.well-known/jwks.json'))
    const pub = keys.find((k) => k.kid === 'rs-1') as Json
    const { createPublicKey } = await import('node:crypto')
    const pem = createPublicKey({ key: pub as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
    for (const secret of [JSON.stringify(pub), pem as string, Buffer.from(pub.n as string, 'base64url')]) {
      await refused(s, hs(secret, { alg: 'HS256', kid: 'rs-1' }, mine()), 'signing method HS256 does not match the key "rs-1"')
    }
  })

  test('alg none is refused, with or without a kid', async () => {
    await refused(s, `${b64({ alg: 'none', kid: 'es-1' })}.${b64(mine())}.`, 'signing method none is invalid')
    await refused(s, `${b64({ alg: 'none' })}.${b64(mine())}.`, 'signing method none is invalid')
  })

  test('keys embedded in or pointed to by the token (jwk, jku, x5u) are refused', async () => {
    const attacker = jwk('ES256', 'es-1', ['sign'])
    const { d: _d, ...attackerPublic } = attacker
    await refused(s, signWith(attacker, { alg: 'ES256', kid: 'es-1', jwk: attackerPublic }, mine()), 'token is malformed: "jwk" header not accepted')
    await refused(s, signWith(ES, { alg: 'ES256', kid: 'es-1', jku: 'https://attacker.example/jwks.json' }, mine()), 'token is malformed: "jku" header not accepted')
    await refused(s, signWith(ES, { alg: 'ES256', kid: 'es-1', x5u: 'https://attacker.example/cert.pem' }, mine()), 'token is malformed: "x5u" header not accepted')
  })

  test('a tampered payload under a genuine ES256 signature is refused', async () => {
    const [h, , sig] = tokens.access_token.split('.')
    await refused(s, `${h}.${b64({ ...mine(), app_metadata: { roles: ['admin'] } })}.${sig}`, 'signature is invalid')
  })
})

describe('GOTRUE_JWT_VALID_METHODS', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ smtp: false, env: { GOTRUE_JWT_KEYS: JSON.stringify([ES, ED]), GOTRUE_JWT_VALID_METHODS: 'ES256' } })
  })
  afterAll(() => s.stop())
  test('limits what is accepted and what is published: HS256 of the secret and the EdDSA key are refused', async () => {
    const u = await confirmedUser(s)
    const t = await body<Tokens>(await login(s, u.email, u.password))
    expect((await getUser(s, t.access_token)).status).toBe(200)
    const c = claims(u.id, u.email)
    await refused(s, signWith(ED, { alg: 'EdDSA', kid: 'ed-1' }, c), 'signing method EdDSA is invalid')
    await refused(s, hs(JWT_SECRET, { alg: 'HS256', kid: 'nf-ident' }, c), 'signing method HS256 is invalid')
    const { keys } = await body<{ keys: Json[] }>(await s.req('/.well-known/jwks.json'))
    expect(keys.map((k) => k.kid)).toEqual(['es-1'])
  })
})

describe('configuration', () => {
  const load = (keys: unknown, extra: Record<string, string> = {}) =>
    loadConfig({ env: { GOTRUE_JWT_SECRET: 'x'.repeat(32), GOTRUE_JWT_KEYS: typeof keys === 'string' ? keys : JSON.stringify(keys), ...extra }, cwd: tmpdir() })
  test('bad key sets fail at load, naming the variable and the key', () => {
    const cases: [unknown, string][] = [
      ['not json', 'expected a JSON array of JWKs'],
      [[], 'non-empty'],
      [[ED], 'no key has key_ops ["sign"]'],
      [[ES, { ...ED, key_ops: ['sign'] }], 'more than one key'],
      [[{ ...ES, kid: undefined }], '"kid" is required'],
      [[ES, { ...ED, kid: 'es-1' }], 'kid appears twice'],
      [[{ ...ES, alg: 'ES512' }], '"alg" must be one of'],
      [[{ ...ED, alg: 'ES256', key_ops: ['sign'] }], 'ES256 needs kty EC with crv P-256'],
      [[(({ d: _d, ...pub }) => pub)(ES)], 'the signing key must be a private JWK'],
      [[{ ...OCT, k: 'c2hvcnQ', key_ops: ['sign'] }], 'at least 32 bytes'],
      [[{ ...ES, x: 'AAAA' }], 'not a valid ES256 key'],
    ]
    for (const [keys, why] of cases) {
      expect(() => load(keys)).toThrow(ConfigError)
      expect(() => load(keys)).toThrow(why)
      expect(() => load(keys)).toThrow('GOTRUE_JWT_KEYS')
    }
    expect(() => load([ES], { GOTRUE_JWT_VALID_METHODS: 'ES256,HS512' })).toThrow('GOTRUE_JWT_VALID_METHODS')
    expect(() => load([ES], { GOTRUE_JWT_VALID_METHODS: 'EdDSA' })).toThrow("GOTRUE_JWT_VALID_METHODS: must include the signing key's algorithm ES256")
  })
  test('file: reads the key set from a file; public verify-only keys are accepted', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keys-'))
    try {
      const { d: _d, ...edPublic } = ED
      writeFileSync(join(dir, 'keys.json'), JSON.stringify([ES, edPublic]))
      expect(JSON.parse(load(`file:${join(dir, 'keys.json')}`).jwt.keys)).toHaveLength(2)
      expect(() => load(`file:${join(dir, 'missing.json')}`)).toThrow('GOTRUE_JWT_KEYS: file not found')
    } finally { rmSync(dir, { recursive: true, force: true }) }
  })
  test('`gotrue keys generate` prints a private JWK with key_ops ["verify"], usable in GOTRUE_JWT_KEYS', async () => {
    for (const alg of ['ES256', 'EdDSA', 'RS256', 'HS256']) {
      const p = Bun.spawnSync(['bun', 'bin/gotrue.ts', 'keys', 'generate', '--alg', alg, '--kid', `k-${alg}`], { cwd: join(import.meta.dir, '..') })
      expect(p.exitCode).toBe(0)
      const k = JSON.parse(p.stdout.toString()) as Json
      expect(k).toMatchObject({ kid: `k-${alg}`, alg, key_ops: ['verify'] })
      expect(k.d ?? k.k).toBeString()
      expect(load([ES, k]).jwt.keys).toContain(`k-${alg}`)
    }
    expect(Bun.spawnSync(['bun', 'bin/gotrue.ts', 'keys', 'generate', '--alg', 'none'], { cwd: join(import.meta.dir, '..') }).exitCode).toBe(2)
  })
})

describe('rotation seen by a separate relying party (jose createRemoteJWKSet on our JWKS URL)', () => {
  // The relying party reaches the service through one URL (a proxy standing for the load balancer); behind it
  // each phase of the runbook is a server started with that phase's GOTRUE_JWT_KEYS, all on one database, as a
  // rolling deploy would be. The relying party's cache is the document's max-age scaled down to 300 ms, and it
  // never refetches for an unknown kid (cooldown longer than the test): it sees the next key only because the
  // runbook publishes it and waits out the max-age before it signs.
  const servers: TestServer[] = []
  let current: TestServer
  let proxy: ReturnType<typeof Bun.serve>
  const dir = mkdtempSync(join(tmpdir(), 'rotation-'))
  const shared = MYSQL_URL ? { GOTRUE_DB_NAMESPACE: `rot${crypto.randomUUID().replace(/-/g, '').slice(0, 8)}` } : { DATABASE_URL: join(dir, 'gotrue.db') }
  const A = jwk('ES256', 'key-a')
  const B = jwk('EdDSA', 'key-b')
  const phase = async (keys: Json[] | null) => {
    current = await startServer({ smtp: false, env: { ...shared, ...(keys && { GOTRUE_JWT_KEYS: JSON.stringify(keys) }) } })
    servers.push(current)
  }
  beforeAll(() => {
    proxy = Bun.serve({ port: 0, fetch: (req) => { const u = new URL(req.url); return fetch(current.url + u.pathname + u.search, { method: req.method, headers: req.headers, body: req.body }) } })
  })
  afterAll(async () => {
    proxy.stop(true)
    // The first server made the shared tables; it drops them last (MySQL), after the others have stopped.
    for (const s of servers.reverse()) await s.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('HS256 → publish A → A signs → publish B → B signs → retire A: no valid token refused', async () => {
    const jwks = createRemoteJWKSet(new URL(`http://127.0.0.1:${proxy.port}/.well-known/jwks.json`), { cacheMaxAge: 300, cooldownDuration: 60_000 })
    const rp = async (t: string) => (await jwtVerify(t, jwks, { audience: 'api.netlify.com' })).payload.sub
    const live: string[] = []
    let user = { id: '', email: '', password: '' }
    const mint = async () => {
      const t = (await body<Tokens>(await login(current, user.email, user.password))).access_token
      live.push(t)
      return t
    }
    const allAccepted = async () => { for (const t of live) expect((await getUser(current, t)).status).toBe(200) }
    const waitOutMaxAge = () => Bun.sleep(400)

    await phase(null) // today: HS256 with the secret, nothing published
    user = await confirmedUser(current)
    const hsToken = await mint()
    expect(decodeProtectedHeader(hsToken).alg).toBe('HS256')
    expect((await body<{ keys: Json[] }>(await current.req('/.well-known/jwks.json'))).keys).toEqual([])

    await phase([{ ...A, key_ops: ['sign'] }]) // asymmetric from now on; the secret keeps verifying: nobody logged out
    await allAccepted()
    expect(await rp(await mint())).toBe(user.id)

    await phase([{ ...A, key_ops: ['sign'] }, B]) // publish B, verify-only
    await allAccepted()
    expect(await rp(await mint())).toBe(user.id)
    await waitOutMaxAge()
    expect(await rp(live[live.length - 1] as string)).toBe(user.id) // the relying party refreshes: now holds B

    await phase([A, { ...B, key_ops: ['sign'] }]) // B signs; A still verifies the tokens it signed
    const bToken = await mint()
    expect(decodeProtectedHeader(bToken).kid).toBe('key-b')
    expect(await rp(bToken)).toBe(user.id)
    for (const t of live.filter((x) => decodeProtectedHeader(x).kid === 'key-a')) expect(await rp(t)).toBe(user.id)
    await allAccepted()

    // Retire A once its last token has expired (the runbook waits GOTRUE_JWT_EXP after B started signing): from
    // then on A's tokens, expired anyway, are unknown; every other token is still good at both ends.
    await phase([{ ...B, key_ops: ['sign'] }])
    expect((await body<{ keys: Json[] }>(await current.req('/.well-known/jwks.json'))).keys.map((k) => k.kid)).toEqual(['key-b'])
    expect(await rp(await mint())).toBe(user.id)
    for (const t of live) {
      const kid = decodeProtectedHeader(t).kid
      if (kid === 'key-a') await refused(current, t, 'signing method ES256 is invalid') // no ES256 key is left
      else expect((await getUser(current, t)).status).toBe(200)
      if (kid === 'key-b') expect(await rp(t)).toBe(user.id)
    }
  }, 30_000)
})

describe('multi-instance: per-site key sets, sealed', () => {
  const MULTI = { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_DB_ENCRYPTION_KEY: 'encryption-key-for-instance-secrets-in-tests' }
  let s: TestServer
  const siteA = jwk('ES256', 'site-a-key', ['sign'])
  const siteB = jwk('EdDSA', 'site-b-key', ['sign'])
  const ids: Record<string, string> = {}
  const on = async (id: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
    s.req(path, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-nf-sign': await signHS256({ id }, 'operator-token-for-tests', undefined) } })
  beforeAll(async () => {
    s = await startServer({ smtp: false, env: { ...MULTI, GOTRUE_JWT_KEYS: JSON.stringify([jwk('RS256', 'process-key', ['sign'])]) } })
    for (const [tag, keys] of [['a', [siteA]], ['b', [siteB]], ['c', null]] as const) {
      const res = await s.req('/instances', { method: 'POST', headers: OPERATOR, json: { uuid: crypto.randomUUID(), config: { site_url: `https://${tag}.example.org`, jwt: { secret: `secret-of-site-${tag}-long-enough-for-hs256`, ...(keys && { keys: JSON.stringify(keys) }) } } } })
      expect(res.status).toBe(201)
      ids[tag] = (await body(res)).id as string
    }
  })
  afterAll(() => s.stop())

  test('a site\'s JWKS shows its own keys only (never the process\'s); without keys a site publishes none', async () => {
    const kids = async (tag: string) => (await body<{ keys: Json[] }>(await on(ids[tag] as string, '/.well-known/jwks.json'))).keys.map((k) => k.kid)
    expect(await kids('a')).toEqual(['site-a-key'])
    expect(await kids('b')).toEqual(['site-b-key'])
    expect(await kids('c')).toEqual([])
  })

  test('keys are sealed at rest and never shown by the operator API; a bad key set is a 422', async () => {
    const row = await s.db.get<{ raw_base_config: string }>('SELECT raw_base_config FROM {instances} WHERE id = ?', [ids.a as string])
    const stored = JSON.parse(row?.raw_base_config ?? '{}') as { jwt: { keys: string } }
    expect(stored.jwt.keys).toStartWith('enc:v2:')
    expect(row?.raw_base_config).not.toContain(siteA.d as string)
    const shown = await s.req(`/instances/${ids.a}`, { headers: OPERATOR })
    expect(JSON.stringify(await body(shown))).not.toContain('site-a-key')
    for (const keys of ['[]', JSON.stringify([{ ...siteA, key_ops: ['verify'] }]), [siteA]]) {
      const res = await s.req('/instances', { method: 'POST', headers: OPERATOR, json: { uuid: crypto.randomUUID(), config: { jwt: { secret: 'x'.repeat(40), keys } } } })
      expect(res.status).toBe(422)
      expect((await body(res)).msg).toStartWith('Invalid config: jwt.keys ')
    }
  })

  test('a site signs with its key; another site refuses the token', async () => {
    const email = 'person@example.com'
    for (const tag of ['a', 'b']) {
      const res = await on(ids[tag] as string, '/admin/users', { method: 'POST', headers: OPERATOR, json: { email, password: 'correct-horse-battery', confirm: true } })
      expect(res.status).toBe(200)
    }
    const res = await on(ids.a as string, '/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: email, password: 'correct-horse-battery' }).toString() })
    expect(res.status).toBe(200)
    const t = (await body<Tokens>(res)).access_token
    expect(decodeProtectedHeader(t).kid).toBe('site-a-key')
    expect((await on(ids.a as string, '/user', { headers: bearer(t) })).status).toBe(200)
    const other = await on(ids.b as string, '/user', { headers: bearer(t) })
    expect(other.status).toBe(401)
    expect((await body(other)).msg).toBe('Invalid token: signing method ES256 is invalid') // site b has EdDSA only
  })
})
