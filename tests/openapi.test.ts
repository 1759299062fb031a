// The committed openapi/openapi.json must equal a freshly generated one and the served one (before and after
// traffic), pass swagger-parser and redocly's recommended rules, and say what the server does.
import SwaggerParser from '@apidevtools/swagger-parser'
import { createConfig, lintFromString } from '@redocly/openapi-core'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { body, startServer, type TestServer } from './harness.ts'
import { loggedInUser, OPERATOR } from './helpers.ts'

const COMMITTED = join(import.meta.dir, '..', 'openapi', 'openapi.json')
type Op = { parameters?: { $ref?: string; name?: string }[]; security?: Record<string, string[]>[]; requestBody?: { content: Record<string, { schema: { $ref?: string; oneOf?: unknown[]; discriminator?: unknown } }> }; responses: Record<string, { content?: Record<string, { schema?: { $ref?: string; oneOf?: { $ref: string }[] }; example?: Record<string, unknown> }>; headers?: unknown }> }
type Doc = { paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, Record<string, unknown>>; securitySchemes: Record<string, unknown> } }
const committed = (): Doc => JSON.parse(readFileSync(COMMITTED, 'utf8'))
const ops = (d: Doc) => Object.entries(d.paths).flatMap(([path, m]) => Object.entries(m).map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as const))

let s: TestServer
beforeAll(async () => { s = await startServer() })
afterAll(() => s.stop())

test('openapi/openapi.json is up to date (run `bun run openapi` after changing a route)', () => {
  const p = Bun.spawnSync(['bun', join(import.meta.dir, '..', 'bin', 'gotrue.ts'), 'openapi', '--stdout'], { cwd: '/' })
  expect(p.exitCode).toBe(0)
  const fresh = p.stdout.toString()
  const committed = require('node:fs').readFileSync(join(import.meta.dir, '..', 'openapi', 'openapi.json'), 'utf8')
  expect(committed).toBe(fresh)
})

test('GET /openapi/json documents every route with its schemas', async () => {
  const spec = await body<{ openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> }>(await s.req('/openapi/json'))
  expect(spec.openapi).toMatch(/^3\./)
  expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/health', '/settings']))
  expect(spec.paths['/settings']?.get?.responses['200']).toBeDefined()
  expect(Object.keys(spec.paths).some((p) => p.startsWith('/openapi'))).toBe(false)
})

test('GET /openapi serves the Swagger UI with its assets from this server (no CDN)', async () => {
  const html = await (await s.req('/openapi')).text()
  expect(html).toContain('SwaggerUIBundle')
  expect(html).not.toContain('unpkg.com')
  const js = await s.req('/openapi/assets/swagger-ui-bundle.js')
  expect(js.status).toBe(200)
  expect((await js.text()).length).toBeGreaterThan(100_000)
  expect((await s.req('/openapi/assets/..%2Fpackage.json')).status).toBe(404)
})

test('an unknown docs asset is GoTrue\'s JSON 404, as any unknown path', async () => {
  const res = await s.req('/openapi/assets/nothing.js')
  expect(res.status).toBe(404)
  expect(res.headers.get('content-type')).toContain('application/json')
  expect(await body(res)).toEqual({ code: 404, msg: '404 page not found' })
})

test('every request body is documented with its media types and schema (function parse hooks hid them)', async () => {
  const spec = await body<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema?: unknown }> } }>> }>(await s.req('/openapi/json'))
  const bodies = Object.entries(spec.paths).flatMap(([path, ops]) => Object.entries(ops).filter(([, op]) => op.requestBody).map(([m, op]) => [`${m.toUpperCase()} ${path}`, op.requestBody?.content] as const))
  expect(bodies.map(([route]) => route)).toEqual(expect.arrayContaining(['POST /signup', 'POST /token', 'PUT /user', 'POST /admin/users']))
  for (const [route, content] of bodies) {
    expect({ route, types: Object.keys(content ?? {}) }).toEqual({ route, types: ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'] })
    for (const t of Object.values(content ?? {})) expect(t.schema).toBeTruthy()
  }
})

test('the served document is the same bytes before and after traffic (Elysia writes into schemas as it compiles them)', async () => {
  const fresh = await startServer()
  try {
    const before = await (await fresh.req('/openapi/json')).text()
    const u = await loggedInUser(fresh)
    await fresh.req('/user', { headers: u.auth })
    await fresh.req('/user', { method: 'PUT', headers: u.auth, json: { data: { a: 1 } } })
    await fresh.req('/signup', { method: 'POST', json: { email: 'drift@example.com', password: 'correct-horse-battery' } })
    await fresh.req('/token', { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: u.refreshToken }) })
    await fresh.req('/admin/users', { headers: OPERATOR })
    await fresh.req('/settings')
    const after = await (await fresh.req('/openapi/json')).text()
    expect(after).toBe(before)
    // and the committed file is that document (the app the CLI renders has /metrics behind a token, as here)
    expect(JSON.parse(before).paths['/user']).toEqual(committed().paths['/user'])
  } finally { await fresh.stop() }
})

test('swagger-parser validates the committed document', async () => {
  await SwaggerParser.validate(committed() as never)
})

test('redocly lint (recommended rules) finds no problem in the committed document', async () => {
  // Two rules are off. operation-2xx-response: GET /authorize and /callback answer only 302 (a browser redirect);
  // the test below holds every operation to a success or redirect status. operation-4xx-response: GET /health and
  // /settings read no input, so no client error is theirs to answer (they still list 500 and 503).
  const config = await createConfig({ extends: ['recommended'], rules: { 'operation-2xx-response': 'off', 'operation-4xx-response': 'off' } })
  const problems = await lintFromString({ source: readFileSync(COMMITTED, 'utf8'), absoluteRef: COMMITTED, config })
  expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([])
})

test('every operation: a success or redirect, explicit security, the statuses the hooks answer, one error shape', () => {
  const doc = committed()
  for (const [name, op] of ops(doc)) {
    const codes = Object.keys(op.responses).map(Number)
    expect({ name, success: codes.some((c) => c >= 200 && c < 400) }).toEqual({ name, success: true })
    expect({ name, security: Array.isArray(op.security) }).toEqual({ name, security: true })
    expect({ name, codes: codes.filter((c) => c === 500 || c === 503) }).toEqual({ name, codes: [500, 503] })
    if (op.requestBody) expect({ name, codes: codes.filter((c) => [400, 413, 422].includes(c)) }).toEqual({ name, codes: [400, 413, 422] })
    if (op.security?.length) expect({ name, has401: codes.includes(401) }).toEqual({ name, has401: true })
    for (const [code, res] of Object.entries(op.responses)) {
      if (code === '204' || code === '302') expect({ name, code, content: res.content }).toEqual({ name, code, content: undefined })
      if (Number(code) < 400) continue
      const media = res.content?.['application/json']
      const refs = media?.schema?.$ref ? [media.schema.$ref] : (media?.schema?.oneOf ?? []).map((s) => s.$ref)
      expect({ name, code, refs: refs.every((r) => r === '#/components/schemas/GoTrueError' || r === '#/components/schemas/OAuthError') && refs.length > 0 }).toEqual({ name, code, refs: true })
      // a realistic example of this very status (Swagger UI shows it)
      const example = media?.example ?? {}
      if ('code' in example) expect({ name, code: example.code }).toEqual({ name, code: Number(code) })
      else expect({ name, error: typeof example.error }).toEqual({ name, error: 'string' })
    }
  }
  expect(JSON.stringify(doc)).not.toContain('"$id"')
})

test('the contract is precise: integer codes, formats, enums, required fields, header parameters, security schemes', () => {
  const doc = committed()
  const s = doc.components.schemas
  expect(s.GoTrueError).toMatchObject({ type: 'object', required: ['code', 'msg'], additionalProperties: false, properties: { code: { type: 'integer' } } })
  expect(s.OAuthError).toMatchObject({ required: ['error'], properties: { error: { enum: ['invalid_grant', 'invalid_request', 'unsupported_grant_type'] } } })
  expect(s['token.response']).toMatchObject({ required: ['access_token', 'token_type', 'expires_in', 'refresh_token'], properties: { expires_in: { type: 'integer' }, token_type: { const: 'bearer' } } })
  expect(s['user.response']).toMatchObject({ properties: { id: { format: 'uuid' }, email: { format: 'email' }, created_at: { format: 'date-time' } } })
  expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'exportSecret', 'metricsToken', 'operatorToken'])
  const op = (name: string) => ops(doc).find(([n]) => n === name)?.[1] as Op
  expect(op('GET /admin/users').security).toEqual([{ bearer: [] }, { operatorToken: [] }])
  expect(op('GET /admin/users/export').security).toEqual([{ bearer: [], exportSecret: [] }, { operatorToken: [], exportSecret: [] }])
  expect(op('GET /admin/users/export').responses['200']).toBeDefined()
  expect(Object.keys(op('POST /logout').responses['204'] ?? {})).toEqual(['description'])
  expect(op('GET /authorize').responses['302']).toMatchObject({ headers: { Location: expect.anything() } })
  expect(op('POST /token').parameters).toEqual(expect.arrayContaining([{ $ref: '#/components/parameters/X-JWT-AUD' }, { $ref: '#/components/parameters/X-Use-Cookie' }]))
  expect(op('GET /user').parameters).toEqual(expect.arrayContaining([{ $ref: '#/components/parameters/X-JWT-AUD' }]))
  // one schema per grant, for form and JSON bodies, told apart by grant_type
  for (const type of ['application/x-www-form-urlencoded', 'application/json']) {
    const schema = op('POST /token').requestBody?.content[type]?.schema
    expect(schema?.oneOf).toHaveLength(4)
    expect(schema?.discriminator).toEqual({ propertyName: 'grant_type', mapping: { password: '#/components/schemas/token.password', refresh_token: '#/components/schemas/token.refresh_token', authorization_code: '#/components/schemas/token.authorization_code', pkce: '#/components/schemas/token.pkce' } })
  }
  // the email as `username` (GoTrue's clients) or `email` (supabase's)
  expect(s['token.pkce']).toMatchObject({ required: ['grant_type', 'auth_code', 'code_verifier'], properties: { grant_type: { const: 'pkce' } } })
  expect(s['token.password']).toMatchObject({ required: ['grant_type', 'password'], properties: { grant_type: { const: 'password' }, username: { type: 'string' }, email: { type: 'string' } } })
  // examples that differ per status, and real bodies for successes
  const signup = op('POST /signup').responses
  expect(signup['200']?.content?.['application/json']?.example).toMatchObject({ email: 'ada@example.com' })
  expect(signup['400']?.content?.['application/json']?.example).toEqual({ code: 400, msg: 'Could not read Signup params: EOF' })
  expect(new Set(Object.entries(signup).filter(([c]) => Number(c) >= 400).map(([, r]) => JSON.stringify(r.content?.['application/json']?.example))).size)
    .toBe(Object.keys(signup).filter((c) => Number(c) >= 400).length)
})

test('every route that can ask for aal2 documents its 403: each admin route (an admin with MFA) and the user routes that guard factors and credentials', () => {
  const doc = committed()
  const aal2 = (op: Op) => op.responses['403']?.content?.['application/json']
  const admin = ops(doc).filter(([, op]) => op.security?.some((r) => 'operatorToken' in r))
  expect(admin.map(([name]) => name)).toEqual(expect.arrayContaining(['GET /admin/users', 'POST /invite', 'DELETE /admin/users/{user_id}/factors/{factor_id}', 'GET /admin/audit']))
  for (const [name, op] of admin) {
    expect({ name, example: aal2(op)?.example, schema: aal2(op)?.schema }).toEqual({ name, example: { code: 403, msg: 'AAL2 required' }, schema: { $ref: '#/components/schemas/GoTrueError' } })
    expect(op.responses['403']).toMatchObject({ description: expect.stringContaining('aal1') })
  }
  const user = ['PUT /user', 'POST /factors', 'DELETE /factors/{id}', 'POST /factors/recovery-codes', 'POST /factors/recovery-codes/regenerate', 'DELETE /factors/recovery-codes']
  for (const name of user) {
    const op = ops(doc).find(([n]) => n === name)?.[1] as Op
    expect({ name, example: aal2(op)?.example }).toEqual({ name, example: { code: 403, msg: 'AAL2 required' } })
  }
  expect(aal2(ops(doc).find(([n]) => n === 'POST /factors/{id}/verify')?.[1] as Op)?.example).toEqual({ code: 403, msg: 'AAL2 required to verify a new factor' })
  // routes no aal2 rule reaches keep no 403
  expect(ops(doc).find(([n]) => n === 'GET /user')?.[1].responses['403']).toBeUndefined()
})

test('a session lists its aal and the next level (supabase\'s names), both aal1 or aal2', () => {
  const item = (committed().components.schemas['sessions.list'] as { properties: { sessions: { items: { required: string[]; properties: Record<string, { enum?: string[] }> } } } }).properties.sessions.items
  expect(item.required).toEqual(expect.arrayContaining(['aal', 'next_level']))
  expect(item.properties.aal?.enum).toEqual(['aal1', 'aal2'])
  expect(item.properties.next_level?.enum).toEqual(['aal1', 'aal2'])
})
