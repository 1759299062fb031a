// GOTRUE_USER_DATA_SCHEMA (ours; the reference accepts any metadata): a JSON Schema subset that user_metadata
// must satisfy wherever a client or an admin writes it: signup `data`, PUT /user `data` (after the merge),
// POST /invite `data`, admin create/update `user_metadata`. A schema the server cannot apply stops the start-up.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compileDataSchema, userDataValidator } from '../lib/dataschema.ts'
import { findUserByEmail, NIL_UUID } from '../lib/users.ts'
import { body, form, type TestServer, startServer, tokenFromMail } from './harness.ts'
import { OPERATOR, PASSWORD } from './helpers.ts'

const SCHEMA = {
  type: 'object',
  properties: { plan: { enum: ['free', 'pro'] }, age: { type: 'integer', minimum: 0 } },
  additionalProperties: false,
}
const invalid = (msg: string) => ({ code: 422, msg: `Invalid user data: ${msg}` })
const tmp = mkdtempSync(join(tmpdir(), 'gotrue-schema-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A started server plus the calls every describe needs. */
function site(schema: () => string, autoconfirm = true) {
  const ctx = { s: undefined as unknown as TestServer }
  beforeAll(async () => { ctx.s = await startServer({ env: { GOTRUE_USER_DATA_SCHEMA: schema(), GOTRUE_MAILER_AUTOCONFIRM: String(autoconfirm) } }) })
  afterAll(() => ctx.s.stop())
  const signup = (email: string, data?: unknown) => ctx.s.req('/signup', { method: 'POST', json: { email, password: PASSWORD, data } })
  /** Signs up (confirming through the mail when needed) and returns a PUT /user {data} for that user. */
  const session = async (email: string, data: unknown) => {
    expect((await signup(email, data)).status).toBe(200)
    const res = autoconfirm
      ? await ctx.s.req('/token', form({ grant_type: 'password', username: email, password: PASSWORD }))
      : await ctx.s.req('/verify', { method: 'POST', json: { type: 'signup', token: tokenFromMail(await ctx.s.smtp.waitForMail(email), 'confirmation_token') } })
    const { access_token } = await body<{ access_token: string }>(res)
    return (data: unknown) => ctx.s.req('/user', { method: 'PUT', headers: { authorization: `Bearer ${access_token}` }, json: { data } })
  }
  const row = (email: string) => findUserByEmail(ctx.s.db, NIL_UUID, 'api.netlify.com', email)
  return { ctx, signup, session, row }
}

describe('an inline schema', () => {
  const { ctx, signup, session, row } = site(() => JSON.stringify(SCHEMA))

  test('valid data, or none, signs up', async () => {
    const res = await signup('valid@example.com', { plan: 'pro', age: 30 })
    expect(res.status).toBe(200)
    expect((await body(res)).user_metadata).toEqual({ plan: 'pro', age: 30 })
    expect((await signup('no-data@example.com')).status).toBe(200)
  })

  test.each([
    [{ age: -1 }, '/age: must be >= 0'],
    [{ age: 1.5 }, '/age: expected integer, got number'],
    [{ age: '3' }, '/age: expected integer, got string'],
    [{ plan: 'gold' }, '/plan: expected one of "free", "pro"'],
    [{ plan: 'pro', nickname: 'x' }, '/nickname: no value is allowed here'],
    // Names of Object.prototype members are ordinary keys: they do not slip past additionalProperties: false.
    [{ constructor: 'x' }, '/constructor: no value is allowed here'],
  ])('signup with %j: 422 naming the path, no user', async (data, msg) => {
    const res = await signup('invalid@example.com', data)
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual(invalid(msg))
    expect(await row('invalid@example.com')).toBeNull()
  })

  test('PUT /user validates the merged metadata', async () => {
    const put = await session('merged@example.com', { plan: 'pro' })
    const bad = await put({ age: -2 })
    expect(bad.status).toBe(422)
    expect(await body(bad)).toEqual(invalid('/age: must be >= 0'))
    expect(JSON.parse((await row('merged@example.com'))?.raw_user_meta_data ?? '')).toEqual({ plan: 'pro' })

    const ok = await put({ age: 5 })
    expect(ok.status).toBe(200)
    expect((await body(ok)).user_metadata).toEqual({ plan: 'pro', age: 5 })
    // `plan: null` deletes the key: the merge is valid although the patch alone (null is not in the enum) is not.
    const removed = await put({ plan: null })
    expect(removed.status).toBe(200)
    expect((await body(removed)).user_metadata).toEqual({ age: 5 })
  })

  test('POST /invite validates data', async () => {
    const bad = await ctx.s.req('/invite', { method: 'POST', headers: OPERATOR, json: { email: 'invitee@example.com', data: { plan: 'gold' } } })
    expect(bad.status).toBe(422)
    expect(await body(bad)).toEqual(invalid('/plan: expected one of "free", "pro"'))
    expect(await row('invitee@example.com')).toBeNull()
    const ok = await ctx.s.req('/invite', { method: 'POST', headers: OPERATOR, json: { email: 'invitee@example.com', data: { plan: 'free' } } })
    expect(ok.status).toBe(200)
  })

  test('admin create and update validate user_metadata (update: after the merge)', async () => {
    const create = (user_metadata: unknown) =>
      ctx.s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email: 'managed@example.com', password: PASSWORD, user_metadata } })
    const bad = await create({ age: -1 })
    expect(bad.status).toBe(422)
    expect(await body(bad)).toEqual(invalid('/age: must be >= 0'))
    const ok = await create({ plan: 'free' })
    expect(ok.status).toBe(200)
    const { id } = await body(ok)
    const update = (user_metadata: unknown) => ctx.s.req(`/admin/users/${id}`, { method: 'PUT', headers: OPERATOR, json: { user_metadata } })
    const rejected = await update({ team: 'blue' })
    expect(rejected.status).toBe(422)
    expect(await body(rejected)).toEqual(invalid('/team: no value is allowed here'))
    const updated = await update({ age: 7 })
    expect(updated.status).toBe(200)
    expect((await body(updated)).user_metadata).toEqual({ plan: 'free', age: 7 })
  })
})

describe('a file: schema with required and nested keywords (confirmation by mail)', () => {
  const file = join(tmp, 'schema.json')
  const { signup, session } = site(() => {
    writeFileSync(file, JSON.stringify({
      type: 'object',
      required: ['plan'],
      properties: {
        plan: { type: 'string', enum: ['free', 'pro'] },
        address: { type: 'object', required: ['city'], properties: { city: { type: 'string', minLength: 1 } } },
        tags: { type: 'array', maxItems: 3, items: { type: 'string', pattern: '^[a-z]+$' } },
      },
    }))
    return `file:${file}`
  }, false)

  test.each([
    [{}, '/plan: is required'],
    [{ plan: 'free', address: {} }, '/address/city: is required'],
    [{ plan: 'free', address: { city: '' } }, '/address/city: must be at least 1 characters'],
    [{ plan: 'free', tags: ['ok', 'Not'] }, '/tags/1: must match ^[a-z]+$'],
    [{ plan: 'free', tags: ['a', 'b', 'c', 'd'] }, '/tags: must have at most 3 items'],
  ])('signup with %j: 422', async (data, msg) => {
    const res = await signup('nested@example.com', data)
    expect(res.status).toBe(422)
    expect(await body(res)).toEqual(invalid(msg))
  })

  test('a PUT /user that leaves out a required key is fine; one that deletes it is not', async () => {
    const put = await session('required@example.com', { plan: 'pro', address: { city: 'Oslo' } })
    const ok = await put({ tags: ['x'] })
    expect(ok.status).toBe(200)
    expect((await body(ok)).user_metadata).toEqual({ plan: 'pro', address: { city: 'Oslo' }, tags: ['x'] })
    const bad = await put({ plan: null })
    expect(bad.status).toBe(422)
    expect(await body(bad)).toEqual(invalid('/plan: is required'))
  })

  test('a re-signup of an unconfirmed user is validated after the merge, like PUT /user', async () => {
    expect((await signup('again@example.com', { plan: 'pro' })).status).toBe(200)
    const res = await signup('again@example.com', { tags: ['x'] })
    expect(res.status).toBe(200)
    expect((await body(res)).user_metadata).toEqual({ plan: 'pro', tags: ['x'] })
  })
})

describe('a schema the server cannot apply stops `gotrue serve`', () => {
  const serve = (schema: string) => {
    const cwd = mkdtempSync(join(tmp, 'cwd-'))
    const p = Bun.spawnSync(['bun', join(import.meta.dir, '..', 'bin', 'gotrue.ts'), 'serve'], {
      cwd, env: { PATH: process.env.PATH ?? '', GOTRUE_USER_DATA_SCHEMA: schema, GOTRUE_API_PORT: '0' }, timeout: 20_000,
    })
    return { code: p.exitCode, lines: p.stderr.toString().trim().split('\n') }
  }
  test.each([
    ['an unsupported keyword', JSON.stringify({ properties: { email: { type: 'string', format: 'email' } } }), '#/properties/email: unsupported keyword "format"'],
    ['invalid JSON', '{"type": "object",', 'GOTRUE_USER_DATA_SCHEMA: expected a JSON Schema'],
    ['a misspelt type', JSON.stringify({ type: 'strnig' }), '#/type: must be one of null, boolean, object, array, number, integer, string'],
    ['a missing file', `file:${join(tmp, 'nope.json')}`, `GOTRUE_USER_DATA_SCHEMA: file not found: ${join(tmp, 'nope.json')}`],
  ])('%s: exit 1 and one stderr line naming GOTRUE_USER_DATA_SCHEMA', (_name, schema, expected) => {
    const { code, lines } = serve(schema)
    expect(code).toBe(1)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toStartWith('gotrue: GOTRUE_USER_DATA_SCHEMA: ')
    expect(lines[0]).toContain(expected)
  })
})

describe('lib/dataschema.ts', () => {
  const check = (schema: unknown, value: unknown) => compileDataSchema(schema)(value)
  test.each([
    [{ type: 'string' }, 1, ': expected string, got integer'],
    [{ type: ['string', 'null'] }, null, undefined],
    [{ type: 'number' }, 3, undefined], // an integer is a number
    [{ type: 'integer' }, 3.0, undefined],
    [{ type: 'boolean' }, 'true', ': expected boolean, got string'],
    [{ type: 'array' }, {}, ': expected array, got object'],
    [{ const: { a: 1, b: [1] } }, { b: [1], a: 1 }, undefined], // objects compare by value, not key order
    [{ enum: [{ x: 1, y: 2 }] }, { y: 2, x: 1 }, undefined],
    [{ enum: [1, 'a'] }, 2, ': expected one of 1, "a"'],
    [{ minLength: 2 }, '🚀', ': must be at least 2 characters'], // characters are code points
    [{ maxLength: 1 }, '🚀', undefined],
    [{ exclusiveMinimum: 0 }, 0, ': must be > 0'],
    [{ maximum: 10, exclusiveMaximum: 10 }, 10, ': must be < 10'],
    [{ minItems: 1 }, [], ': must have at least 1 items'],
    [{ minimum: 5 }, 'not a number', undefined], // keywords apply to their own types only
    [{ pattern: 'b' }, 'abc', undefined], // patterns are not anchored
    [{ items: { type: 'object', required: ['id'] } }, [{ id: 1 }, {}], '/1/id: is required'],
    [{ properties: { 'a/b~c': { type: 'string' } } }, { 'a/b~c': 1 }, '/a~1b~0c: expected string, got integer'],
    [{ properties: { toString: { type: 'string' } } }, {}, undefined],
    [{ required: ['constructor'] }, {}, '/constructor: is required'],
    [{ additionalProperties: false }, JSON.parse('{"__proto__": 1}'), '/__proto__: no value is allowed here'],
    [{ additionalProperties: { type: 'integer' } }, { a: 1, b: 'x' }, '/b: expected integer, got string'],
    [true, { anything: 1 }, undefined],
  ])('%j with %j → %j', (schema, value, expected) => {
    expect(check(schema, value)).toBe(expected)
  })

  test('the config validator prefixes messages, names the root, and treats missing data as {}', () => {
    const v = userDataValidator(JSON.stringify({ type: 'object', required: ['plan'] }))
    expect(v?.([])).toBe('Invalid user data: (root): expected object, got array')
    expect(v?.(null)).toBe('Invalid user data: /plan: is required')
    expect(v?.({ plan: 1 })).toBeUndefined()
    expect(userDataValidator('')).toBeNull()
    expect(() => userDataValidator('{')).toThrow()
  })

  test.each([
    [{ properties: { a: { format: 'email' } } }, '#/properties/a: unsupported keyword "format"'],
    [{ type: 'strnig' }, '#/type: must be one of'],
    [{ type: [] }, '#/type: must be one of'],
    [{ minimum: '5' }, '#/minimum: must be a number'],
    [{ exclusiveMinimum: true }, '#/exclusiveMinimum: must be a number'], // the draft-4 boolean form
    [{ minLength: -1 }, '#/minLength: must be a non-negative integer'],
    [{ pattern: '(' }, '#/pattern: must be a valid regular expression'],
    [{ required: 'plan' }, '#/required: must be an array of strings'],
    [{ enum: 'a' }, '#/enum: must be an array'],
    [{ properties: [] }, '#/properties: must be an object'],
    [{ items: [{}] }, '#/items: a schema must be an object or a boolean'],
    [{ additionalProperties: { allOf: [] } }, '#/additionalProperties: unsupported keyword "allOf"'],
  ])('%j is refused at compile time', (schema, message) => {
    expect(() => compileDataSchema(schema)).toThrow(message)
  })
})
