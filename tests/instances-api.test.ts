// Operator (multi-instance) mode: the operator API (create, read, deep-merge update, delete of instances; spec
// §10.1, §14 instance_test), the x-nf-sign header that selects the site a request is for (§10.2), and the
// single-instance default without any of it. Our deliberate differences from the reference (features/instances.ts,
// lib/instances.ts, lib/sealing.ts): secrets (jwt.secret, smtp.pass, webhook.secret, provider secrets) are stored encrypted with
// GOTRUE_DB_ENCRYPTION_KEY and never returned (the reference echoes jwt.secret), and DELETE also removes the
// instance's one-time tokens, identities, flow states and audit entries. What one site cannot see or do to
// another: tests/instances-isolation.test.ts; `gotrue multi` refusing to start without its secrets: cli.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { createCipheriv, createHash, randomBytes } from 'node:crypto'
import { signHS256, verifyHS256 } from '../lib/jwt.ts'
import { type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'
import { body, form, startServer, type TestServer } from './harness.ts'
import { PASSWORD } from './helpers.ts'

const OPERATOR_TOKEN = 'operator-token-for-tests'
const OP = { authorization: `Bearer ${OPERATOR_TOKEN}` }
const ENDPOINT = 'https://identity.example.com'
const SECRETS = {
  jwt: 'instance-jwt-secret-that-is-long-enough', smtp: 'smtp-password-in-clear', webhook: 'webhook-signing-secret',
  github: 'github-oauth-client-secret',
}
type Json = Record<string, unknown>

let s: TestServer
beforeAll(async () => {
  s = await startServer({ env: { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_DB_ENCRYPTION_KEY: 'encryption-key-for-instance-secrets-in-tests', GOTRUE_API_ENDPOINT: ENDPOINT } })
})
afterAll(async () => { await s.stop() })

const sign = (claims: Json, key = OPERATOR_TOKEN) => signHS256(claims, key, undefined)
const create = async (config: Json | null, uuid: string = crypto.randomUUID()) => {
  const res = await s.req('/instances', { method: 'POST', headers: OP, json: { uuid, config } })
  expect(res.status).toBe(201)
  return body(res)
}
const put = (id: string, json: Json) => s.req(`/instances/${id}`, { method: 'PUT', headers: OP, json })
/** An end-user request to the site of instance `id`, signed as the operator's proxy does. */
const asSite = async (id: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
  s.req(path, { ...init, headers: { ...(init.headers as Record<string, string>), 'x-nf-sign': await sign({ id }) } })
const signup = (id: string, email: string) => asSite(id, '/signup', { method: 'POST', json: { email, password: PASSWORD } })
const rawConfig = async (id: string) =>
  (await s.db.get<{ raw_base_config: string | null }>('SELECT raw_base_config FROM {instances} WHERE id = ?', [id]))?.raw_base_config
const count = async (table: string, id: string) =>
  Number((await s.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM {${table}} WHERE instance_id = ?`, [id]))?.n)
const expectError = async (res: Response, status: number, msg: string) => {
  expect(res.status).toBe(status)
  expect(await body(res)).toMatchObject({ code: status, msg })
}
const fullConfig = (uuidTag: string): Json => ({
  site_url: `https://${uuidTag}.example.org`,
  jwt: { secret: SECRETS.jwt, aud: 'site-aud' },
  smtp: { host: '127.0.0.1', port: 2525, user: 'mailer', pass: SECRETS.smtp, admin_email: 'noreply@example.org' },
  webhook: { url: 'https://hooks.example.org/identity', secret: SECRETS.webhook, events: ['signup'] },
  external: { github: { enabled: true, client_id: 'gh-client', secret: SECRETS.github, redirect_uri: `${ENDPOINT}/callback` } },
  mailer: { autoconfirm: true, confirmation_max_age: 3600 * 1e9 },
})

describe('operator authentication', () => {
  test('no Authorization → 401; another token → 401; GET / is the manifest', async () => {
    for (const [method, path] of [['GET', '/'], ['POST', '/instances'], ['GET', `/instances/${crypto.randomUUID()}`]] as const) {
      await expectError(await s.req(path, { method, json: method === 'POST' ? {} : undefined }), 401, 'This endpoint requires a Bearer token')
      await expectError(await s.req(path, { method, headers: { authorization: 'Bearer not-the-operator' }, json: method === 'POST' ? {} : undefined }),
        401, 'Request does not include an Operator token')
    }
    const manifest = await s.req('/', { headers: OP })
    expect(manifest.status).toBe(200)
    expect(await body(manifest)).toEqual(await body(await s.req('/health')))
  })
})

describe('POST /instances and GET /instances/:id', () => {
  test('201 with id, uuid, config without secrets, times, endpoint and state; secrets stored only encrypted', async () => {
    const uuid = crypto.randomUUID()
    const res = await s.req('/instances', { method: 'POST', headers: OP, json: { uuid, config: fullConfig('created') } })
    expect(res.status).toBe(201)
    const inst = await body(res)
    expect(Object.keys(inst).sort()).toEqual(['config', 'created_at', 'endpoint', 'id', 'state', 'updated_at', 'uuid'])
    expect(inst).toMatchObject({ uuid, endpoint: ENDPOINT, state: 'active' })
    expect(inst.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(new Date(inst.created_at as string).toISOString()).toBeString()
    const config = inst.config as Json
    expect(config).toEqual({
      site_url: 'https://created.example.org',
      jwt: { aud: 'site-aud' },
      smtp: { host: '127.0.0.1', port: 2525, user: 'mailer', admin_email: 'noreply@example.org' },
      webhook: { url: 'https://hooks.example.org/identity', events: ['signup'] },
      external: { github: { enabled: true, client_id: 'gh-client', redirect_uri: `${ENDPOINT}/callback` } },
      mailer: { autoconfirm: true, confirmation_max_age: 3600 * 1e9 },
    })

    const raw = (await rawConfig(inst.id as string)) ?? ''
    for (const secret of Object.values(SECRETS)) expect(raw).not.toContain(secret)
    const stored = JSON.parse(raw) as { jwt: Json; smtp: Json; webhook: Json; external: { github: Json } }
    for (const v of [stored.jwt.secret, stored.smtp.pass, stored.webhook.secret, stored.external.github.secret]) expect(v).toMatch(/^enc:v2:/)

    const got = await s.req(`/instances/${inst.id}`, { headers: OP })
    expect(got.status).toBe(200)
    const shown = await body(got)
    expect(Object.keys(shown).sort()).toEqual(['config', 'created_at', 'id', 'updated_at', 'uuid'])
    expect(shown).toMatchObject({ id: inst.id, uuid, config, created_at: inst.created_at })
  })

  test('a taken uuid → 400, also when uuid is omitted twice (the nil UUID)', async () => {
    const uuid = crypto.randomUUID()
    await create({ site_url: 'https://dup.example.org' }, uuid)
    await expectError(await s.req('/instances', { method: 'POST', headers: OP, json: { uuid, config: {} } }), 400, 'An instance with that UUID already exists')
    const first = await s.req('/instances', { method: 'POST', headers: OP, json: { config: {} } })
    expect(first.status).toBe(201)
    expect((await body(first)).uuid).toBe('00000000-0000-0000-0000-000000000000')
    await expectError(await s.req('/instances', { method: 'POST', headers: OP, json: { config: {} } }), 400, 'An instance with that UUID already exists')
  })

  test('a uuid that is not a UUID, or a config that is not an object → 400 Error decoding params (POST and PUT)', async () => {
    await expectError(await s.req('/instances', { method: 'POST', headers: OP, json: { uuid: 'site-42', config: {} } }), 400,
      'Error decoding params: uuid is not a valid UUID')
    const { id } = await create({ site_url: 'https://decode.example.org' })
    for (const config of ['site_url=x', ['a'], 5]) {
      await expectError(await s.req('/instances', { method: 'POST', headers: OP, json: { uuid: crypto.randomUUID(), config } }), 400,
        'Error decoding params: config must be a JSON object')
      await expectError(await put(id as string, { config }), 400, 'Error decoding params: config must be a JSON object')
    }
    expect((await body(await s.req(`/instances/${id}`, { headers: OP }))).config).toEqual({ site_url: 'https://decode.example.org' })
  })

  test('a malformed id → 400 Invalid instance ID; an unknown one → 404 Instance not found (GET, PUT, DELETE)', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const json = method === 'PUT' ? { config: {} } : undefined
      await expectError(await s.req('/instances/not-a-uuid', { method, headers: OP, json }), 400, 'Invalid instance ID')
      await expectError(await s.req(`/instances/${crypto.randomUUID()}`, { method, headers: OP, json }), 404, 'Instance not found')
    }
  })
})

describe('PUT /instances/:id', () => {
  let smtp: SmtpCapture
  beforeAll(async () => { smtp = await startSmtpCapture({ user: 'mailer', pass: SECRETS.smtp }) })
  afterAll(async () => { await smtp.stop() })

  test('deep merge: absent keys are kept, present keys overwrite (even with ""), lists replace', async () => {
    const uuid = crypto.randomUUID()
    const { id } = await create({
      site_url: 'https://merge.example.org', jwt: { secret: SECRETS.jwt, aud: 'first-aud', admin_group_name: 'boss' },
      mailer: { autoconfirm: true, subjects: { confirmation: 'Welcome' } }, webhook: { events: ['signup', 'login'] },
    }, uuid)
    const res = await put(id as string, { uuid: crypto.randomUUID(), config: { jwt: { aud: '' }, mailer: { subjects: { recovery: 'Reset' } }, webhook: { events: ['validate'] } } })
    expect(res.status).toBe(200)
    const inst = await body(res)
    expect(inst.uuid).toBe(uuid) // the body's uuid is ignored
    expect(inst.config).toEqual({
      site_url: 'https://merge.example.org', jwt: { aud: '', admin_group_name: 'boss' },
      mailer: { autoconfirm: true, subjects: { confirmation: 'Welcome', recovery: 'Reset' } }, webhook: { events: ['validate'] },
    })
    expect(JSON.parse((await rawConfig(id as string)) ?? '{}').jwt.secret).toMatch(/^enc:v2:/) // kept, still sealed
    // The site still runs with its kept secret and autoconfirm.
    const signed = await signup(id as string, 'merged@example.com')
    expect(signed.status).toBe(200)
    expect((await body(signed)).confirmed_at).toBeString()
  })

  test('smtp.pass: kept when absent from the update, cleared by "" (mail then fails to authenticate)', async () => {
    const { id } = await create({
      site_url: 'https://mail.example.org', jwt: { secret: SECRETS.jwt },
      smtp: { host: smtp.host, port: smtp.port, user: 'mailer', pass: SECRETS.smtp, admin_email: 'first@example.org' },
    })
    expect((await signup(id as string, 'one@example.com')).status).toBe(200)
    expect((await smtp.waitForMail('one@example.com')).from).toBe('first@example.org')

    expect((await put(id as string, { config: { smtp: { admin_email: 'second@example.org' } } })).status).toBe(200)
    expect((await signup(id as string, 'two@example.com')).status).toBe(200)
    expect((await smtp.waitForMail('two@example.com')).from).toBe('second@example.org')

    const cleared = await put(id as string, { config: { smtp: { pass: '' } } })
    expect((await body(cleared)).config).toMatchObject({ smtp: { host: smtp.host, user: 'mailer', admin_email: 'second@example.org' } })
    await expectError(await signup(id as string, 'three@example.com'), 500, 'Error sending confirmation mail')
    expect(smtp.mailsTo('three@example.com')).toHaveLength(0)
  })

  test('"config": null clears it: the site then answers 500 Error loading environment config', async () => {
    const { id } = await create({ site_url: 'https://null.example.org', jwt: { secret: SECRETS.jwt } })
    expect((await asSite(id as string, '/settings')).status).toBe(200)
    const res = await put(id as string, { config: null })
    expect(res.status).toBe(200)
    expect((await body(res)).config).toBeNull()
    expect(await rawConfig(id as string)).toBeNull()
    await expectError(await asSite(id as string, '/settings'), 500, 'Error loading environment config')
  })

  test('a site without its own jwt.secret is refused (never signs with the process\'s GOTRUE_JWT_SECRET)', async () => {
    const { id } = await create({ site_url: 'https://nokey.example.org', mailer: { autoconfirm: true } })
    const res = await asSite(id as string, '/settings', { headers: { origin: 'https://nokey.example.org' } })
    await expectError(res.clone(), 500, 'Error loading environment config')
    expect((await body(res)).error_id).toBe(res.headers.get('x-request-id') as string)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    expect((await put(id as string, { config: { jwt: { secret: SECRETS.jwt } } })).status).toBe(200)
    expect((await signup(id as string, 'keyed@example.com')).status).toBe(200)
  })

  test('external.email.disabled=true takes effect on the next request (the site app is rebuilt)', async () => {
    const { id } = await create({ site_url: 'https://email.example.org', jwt: { secret: SECRETS.jwt }, mailer: { autoconfirm: true } })
    expect((await signup(id as string, 'before@example.com')).status).toBe(200)
    expect((await put(id as string, { config: { external: { email: { disabled: true } } } })).status).toBe(200)
    await expectError(await signup(id as string, 'after@example.com'), 400, 'Unsupported email provider')
    expect(((await body(await asSite(id as string, '/settings'))).external as Json).email).toBe(false)
  })
})

describe('instance configs are type-checked', () => {
  const bad: [string, Json, string][] = [
    ['jwt.exp as a string', { jwt: { exp: '3600' } }, 'jwt.exp must be an integer from 0 to 31536000'],
    ['a relative site_url', { site_url: 'example.org' }, 'site_url must be an absolute http(s) URL'],
    ['a javascript: site_url', { site_url: 'javascript:alert(1)' }, 'site_url must be an absolute http(s) URL'],
    ['smtp.port out of range', { smtp: { port: 70000 } }, 'smtp.port must be an integer from 1 to 65535'],
    ['autoconfirm as a string', { mailer: { autoconfirm: 'yes' } }, 'mailer.autoconfirm must be true or false'],
    ['a negative duration', { mailer: { recovery_max_age: -1 } }, 'mailer.recovery_max_age must be a duration in nanoseconds (a number from 0)'],
    ['webhook.events as a string', { webhook: { events: 'signup' } }, 'webhook.events must be a list of events among validate, signup, login, userdeleted, usermodified, session_created, session_refreshed, session_revoked, factor_enrolled, factor_verified, factor_deleted, recovery_code_used, challenge_failed'],
    ['an unknown webhook event', { webhook: { events: ['signup', 'everything'] } }, 'webhook.events must be a list of events among validate, signup, login, userdeleted, usermodified, session_created, session_refreshed, session_revoked, factor_enrolled, factor_verified, factor_deleted, recovery_code_used, challenge_failed'],
    ['jwt as a string', { jwt: 'secret' }, 'jwt must be an object'],
    ['a provider flag as a string', { external: { github: { enabled: 'true' } } }, 'external.github.enabled must be true or false'],
    ['jwt.secret as a number', { jwt: { secret: 42 } }, 'jwt.secret must be a string'],
    ['a webhook URL that does not parse', { webhook: { url: 'http://[oops/' } }, 'webhook.url must be an http(s) URL or a path on site_url'],
  ]
  test.each(bad)('%s → 422 naming the field, on POST and PUT; nothing stored', async (_name, patch, why) => {
    const uuid = crypto.randomUUID()
    const created = await s.req('/instances', { method: 'POST', headers: OP, json: { uuid, config: { site_url: 'https://typed.example.org', ...patch } } })
    expect(created.status).toBe(422)
    expect(await body(created)).toEqual({ code: 422, msg: `Invalid config: ${why}` })
    expect(await s.db.get('SELECT id FROM {instances} WHERE uuid = ?', [uuid])).toBeNull()
    const { id } = await create({ site_url: 'https://typed.example.org', jwt: { secret: SECRETS.jwt } })
    await expectError(await put(id as string, { config: patch }), 422, `Invalid config: ${why}`)
    expect((await body(await s.req(`/instances/${id}`, { headers: OP }))).config).toEqual({ site_url: 'https://typed.example.org', jwt: {} })
    expect((await asSite(id as string, '/settings')).status).toBe(200)
  })

  test('nulls, empty strings and unknown keys are accepted, as GoTrue\'s decoder does', async () => {
    const { id } = await create({ site_url: 'https://lax.example.org', jwt: { secret: SECRETS.jwt, exp: null, aud: '' }, some_future_key: { x: 1 } })
    expect((await asSite(id as string, '/settings')).status).toBe(200)
  })

  test('a bad config already stored: the site answers 500 Error loading environment config, others keep working', async () => {
    const good = (await create({ site_url: 'https://good.example.org', jwt: { secret: SECRETS.jwt }, mailer: { autoconfirm: true } })).id as string
    for (const patch of [{ jwt: { exp: '3600' } }, { site_url: 'not a url' }]) {
      const { id } = await create({ site_url: 'https://stored.example.org', jwt: { secret: SECRETS.jwt }, mailer: { autoconfirm: true } })
      const stored = JSON.parse((await rawConfig(id as string)) ?? '{}') as Json
      const next = { ...stored, ...patch, jwt: { ...(stored.jwt as Json), ...((patch as Json).jwt as Json | undefined) } }
      await s.db.run('UPDATE {instances} SET raw_base_config = ? WHERE id = ?', [JSON.stringify(next), id as string])
      for (let i = 0; i < 3; i++) {
        await expectError(await asSite(id as string, '/settings'), 500, 'Error loading environment config')
        await expectError(await signup(id as string, `stored${i}@example.com`), 500, 'Error loading environment config')
      }
      expect((await signup(good, `good-${(patch as Json).site_url ? 'url' : 'exp'}@example.com`)).status).toBe(200)
    }
  })
})

describe('instance secrets are bound to their instance and field', () => {
  const KEY = createHash('sha256').update('encryption-key-for-instance-secrets-in-tests').digest()
  const stored = async (id: string) => JSON.parse((await rawConfig(id)) ?? '{}') as { jwt: Json; smtp: Json }
  const store = (id: string, config: Json) => s.db.run('UPDATE {instances} SET raw_base_config = ? WHERE id = ?', [JSON.stringify(config), id])

  test('a sealed value copied to another instance, or to another field, does not open', async () => {
    const a = (await create({ site_url: 'https://seal-a.example.org', jwt: { secret: 'jwt-secret-of-a-long-enough-for-hs256' }, smtp: { pass: 'smtp-pass-of-a' } })).id as string
    const b = (await create({ site_url: 'https://seal-b.example.org', jwt: { secret: 'jwt-secret-of-b-long-enough-for-hs256' } })).id as string
    const sa = await stored(a)
    const sb = await stored(b)
    await store(b, { ...sb, jwt: { ...sb.jwt, secret: sa.jwt.secret } })
    await expectError(await asSite(b, '/settings'), 500, 'Error loading environment config')
    await store(a, { ...sa, jwt: { ...sa.jwt, secret: sa.smtp.pass } })
    await expectError(await asSite(a, '/settings'), 500, 'Error loading environment config')
  })

  test('a plaintext secret written into the row is refused (someone with write access to the table cannot choose a key)', async () => {
    const { id } = await create({ site_url: 'https://plain.example.org', jwt: { secret: SECRETS.jwt }, mailer: { autoconfirm: true } })
    const sealed = await stored(id as string)
    await store(id as string, { ...sealed, jwt: { ...sealed.jwt, secret: 'chosen-by-the-attacker-long-enough' } })
    await expectError(await asSite(id as string, '/settings'), 500, 'Error loading environment config')
    await expectError(await signup(id as string, 'plain@example.com'), 500, 'Error loading environment config')
  })

  test('a secret sealed by the previous version (enc:v1:, no binding) still opens once and is resealed bound', async () => {
    const { id } = await create({ site_url: 'https://legacy.example.org', jwt: { secret: 'placeholder' }, mailer: { autoconfirm: true } })
    const secret = 'legacy-jwt-secret-sealed-without-binding'
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', KEY, iv)
    const text = Buffer.concat([c.update(secret, 'utf8'), c.final()])
    const v1 = `enc:v1:${Buffer.concat([iv, c.getAuthTag(), text]).toString('base64url')}`
    const sealed = await stored(id as string)
    await store(id as string, { ...sealed, jwt: { ...sealed.jwt, secret: v1 } })
    const res = await signup(id as string, 'legacy@example.com')
    expect(res.status).toBe(200)
    const login = await body(await asSite(id as string, '/token', form({ grant_type: 'password', username: 'legacy@example.com', password: PASSWORD })))
    expect(await verifyHS256(login.access_token as string, secret)).toMatchObject({ email: 'legacy@example.com' })
    const after = (await stored(id as string)).jwt.secret as string
    expect(after).toMatch(/^enc:v2:/)
    expect((await rawConfig(id as string)) ?? '').not.toContain(v1)
    expect((await asSite(id as string, '/settings')).status).toBe(200)
  })
})

describe('DELETE /instances/:id', () => {
  test('204; its users, refresh tokens, one-time tokens and audit entries are gone; other instances untouched', async () => {
    const site = async (tag: string) => {
      const { id } = await create({ site_url: `https://${tag}.example.org`, jwt: { secret: SECRETS.jwt }, mailer: { autoconfirm: true } })
      const inst = id as string
      expect((await signup(inst, `${tag}@example.com`)).status).toBe(200)
      expect((await asSite(inst, '/token', form({ grant_type: 'password', username: `${tag}@example.com`, password: PASSWORD }))).status).toBe(200)
      expect((await asSite(inst, '/recover', { method: 'POST', json: { email: `${tag}@example.com` } })).status).toBe(200)
      await s.smtp.waitForMail(`${tag}@example.com`) // the recovery mail (through the process's default SMTP)
      for (const table of ['users', 'refresh_tokens', 'one_time_tokens', 'audit_log_entries']) expect(await count(table, inst)).toBeGreaterThan(0)
      return inst
    }
    const gone = await site('deleted')
    const kept = await site('kept')
    const before = await Promise.all(['users', 'refresh_tokens', 'one_time_tokens', 'audit_log_entries'].map((t) => count(t, kept)))

    const res = await s.req(`/instances/${gone}`, { method: 'DELETE', headers: OP })
    expect(res.status).toBe(204)
    expect(await res.text()).toBe('')
    for (const table of ['users', 'refresh_tokens', 'one_time_tokens', 'audit_log_entries']) expect(await count(table, gone)).toBe(0)
    expect(await Promise.all(['users', 'refresh_tokens', 'one_time_tokens', 'audit_log_entries'].map((t) => count(t, kept)))).toEqual(before)
    await expectError(await s.req(`/instances/${gone}`, { headers: OP }), 404, 'Instance not found')
    await expectError(await asSite(gone, '/settings'), 404, 'Unable to locate site configuration')
    expect((await asSite(kept, '/settings')).status).toBe(200)
  })
})

describe('x-nf-sign: which site a request is for', () => {
  let id: string
  beforeAll(async () => { id = (await create({ site_url: 'https://signed.example.org', jwt: { secret: SECRETS.jwt } })).id as string })
  const withSign = async (sign: string) => s.req('/settings', { headers: { 'x-nf-sign': sign } })

  test('a valid signature → the site\'s settings', async () => {
    expect((await withSign(await sign({ id }))).status).toBe(200)
  })

  test('missing → 400; bad signature, another key, expired, garbage → 400 signature is invalid', async () => {
    await expectError(await s.req('/settings'), 400, 'Operator microservice headers missing')
    const good = await sign({ id })
    const tampered = `${good.slice(0, -4)}${good.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`
    await expectError(await withSign(tampered), 400, 'Operator microservice signature is invalid: signature is invalid')
    await expectError(await withSign(await sign({ id }, 'some-other-operator-token')), 400, 'Operator microservice signature is invalid: signature is invalid')
    await expectError(await withSign(await sign({ id, exp: Math.floor(Date.now() / 1000) - 60 })), 400, 'Operator microservice signature is invalid: token is expired')
    const garbage = await withSign('not-a-jwt')
    expect(garbage.status).toBe(400)
    expect((await body(garbage)).msg).toStartWith('Operator microservice signature is invalid: ')
  })

  test('no id → 400; a non-UUID id → 400; an unknown instance → 404', async () => {
    await expectError(await withSign(await sign({ site_url: 'https://x.example.org' })), 400, 'Instance ID is missing')
    await expectError(await withSign(await sign({ id: 'site-42' })), 400, 'Instance ID is not a valid UUID')
    await expectError(await withSign(await sign({ id: crypto.randomUUID() })), 404, 'Unable to locate site configuration')
  })

  test('a site_url claim that is not an absolute http(s) URL → 400, not a 500 on every request', async () => {
    for (const site_url of ['not a url', 'javascript:alert(1)', '/relative']) {
      await expectError(await withSign(await sign({ id, site_url })), 400, 'Operator microservice headers: site_url is not an absolute http(s) URL')
    }
    expect((await withSign(await sign({ id, site_url: 'https://deploy-preview-1--signed.example.org' }))).status).toBe(200)
  })

  test('/health needs no header; a CORS preflight of /signup without one → 204', async () => {
    expect((await s.req('/health')).status).toBe(200)
    const pre = await s.req('/signup', {
      method: 'OPTIONS',
      headers: { origin: 'https://signed.example.org', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-nf-sign' },
    })
    expect(pre.status).toBe(204)
    expect(pre.headers.get('access-control-allow-origin')).toBe('*')
  })
})

describe('single-instance mode (the default)', () => {
  test('works with no operator token: no /instances routes, no x-nf-sign needed', async () => {
    const s = await startServer({ env: { GOTRUE_OPERATOR_TOKEN: '' } })
    try {
      expect(s.deps.config.operator_token).toBe('')
      expect((await s.req('/instances', { method: 'POST', headers: OP, json: { config: {} } })).status).toBe(404)
      expect((await s.req(`/instances/${crypto.randomUUID()}`, { headers: OP })).status).toBe(404)
      const settings = await s.req('/settings')
      expect(settings.status).toBe(200)
      expect(((await body(settings)).external as Json).email).toBe(true)
      expect((await s.req('/signup', { method: 'POST', json: { email: 'single@example.com', password: PASSWORD } })).status).toBe(200)
    } finally { await s.stop() }
  })
})
