// The committed openapi/openapi.json must equal a freshly generated one, and the docs are served.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { body, startServer, type TestServer } from './harness.ts'

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
