import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import pkg from '../package.json' with { type: 'json' }
import { body, startServer, type TestServer } from './harness.ts'

let s: TestServer
beforeAll(async () => { s = await startServer() })
afterAll(() => s.stop())

describe('GET /health', () => {
  test('answers name, version and description', async () => {
    const res = await s.req('/health')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await body(res)).toEqual({
      description: 'GoTrue is a user registration and authentication API',
      name: 'GoTrue',
      version: pkg.version,
    })
  })

  test('HEAD and wrong methods are not routed', async () => {
    const res = await s.req('/health', { method: 'DELETE' })
    expect(res.status).toBe(404)
    expect(await body(res)).toEqual({ code: 404, msg: '404 page not found' })
  })
})
