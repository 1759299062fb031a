// GET /health (the reference's probe), /health/live (the process) and /health/ready (database and migrations),
// and the `gotrue healthcheck` verb the Docker image's HEALTHCHECK runs.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pkg from '../package.json' with { type: 'json' }
import { startTcpProxy, type TcpProxy } from './fakes/tcp-proxy.ts'
import { body, MYSQL_URL, startServer, type TestServer } from './harness.ts'

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

/** Readiness is computed at most once a second: poll until it shows `status` (bounded). */
async function readyBecomes(srv: TestServer, status: number, path = '/health/ready'): Promise<Response> {
  const deadline = Date.now() + 6000
  for (;;) {
    const res = await srv.req(path)
    if (res.status === status || Date.now() > deadline) return res
    await Bun.sleep(100)
  }
}

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
/** `gotrue healthcheck` as Docker runs it: a separate process, configured by the environment only (spawned
 *  asynchronously: the server it probes runs in this process). */
async function healthcheck(port: number): Promise<{ code: number | null; err: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'gotrue-hc-'))
  const p = Bun.spawn(['bun', BIN, 'healthcheck'], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, GOTRUE_API_PORT: String(port) }, stdout: 'ignore', stderr: 'pipe' })
  const [err, code] = await Promise.all([new Response(p.stderr).text(), p.exited])
  rmSync(cwd, { recursive: true, force: true })
  return { code, err }
}

describe('GET /health/live and /health/ready; gotrue healthcheck', () => {
  const port = () => Number(new URL(s.url).port)

  test('with the database up and every migration applied: both 200, healthcheck exits 0', async () => {
    for (const path of ['/health/live', '/health/ready']) {
      const res = await s.req(path)
      expect(res.status).toBe(200)
      expect((await body(res)).name).toBe('GoTrue')
    }
    expect(await healthcheck(port())).toEqual({ code: 0, err: '' })
  })

  test('a migration left unapplied: ready 503 in the GoTrue shape, live still 200, healthcheck exits 1', async () => {
    const last = await s.db.get<{ version: string; applied_at: string }>('SELECT version, applied_at FROM {schema_migrations} ORDER BY version DESC LIMIT 1')
    expect(last).not.toBeNull()
    await s.db.run('DELETE FROM {schema_migrations} WHERE version = ?', [last!.version])
    try {
      const res = await readyBecomes(s, 503)
      expect(res.status).toBe(503)
      expect(await body(res)).toEqual({ code: 503, msg: '1 database migration(s) pending', error_id: res.headers.get('x-request-id') as string })
      expect((await s.req('/health/live')).status).toBe(200)
      const hc = await healthcheck(port())
      expect(hc.code).toBe(1)
      expect(hc.err).toContain('503')
    } finally {
      await s.db.run('INSERT INTO {schema_migrations} (version, applied_at) VALUES (?, ?)', [last!.version, last!.applied_at])
    }
    expect((await readyBecomes(s, 200)).status).toBe(200)
  })

  test('nothing listening: healthcheck exits 1', async () => {
    const free = Bun.serve({ port: 0, fetch: () => new Response() })
    const p = free.port as number
    free.stop(true)
    const hc = await healthcheck(p)
    expect(hc.code).toBe(1)
    expect(hc.err).toContain('healthcheck:')
  })
})

describe.if(Boolean(MYSQL_URL))('MySQL cut through a TCP proxy', () => {
  let proxy: TcpProxy
  let cut: TestServer
  beforeAll(async () => {
    const target = new URL(MYSQL_URL)
    proxy = await startTcpProxy({ host: target.hostname || '127.0.0.1', port: Number(target.port || 3306) })
    target.host = `127.0.0.1:${proxy.port}`
    cut = await startServer({ env: { DATABASE_URL: target.toString() }, smtp: false })
  })
  afterAll(async () => {
    proxy.restore() // the harness drops this run's tables through the same connection
    await cut.stop()
    proxy.stop()
  })

  test('ready 503 Database unreachable while live stays 200; ready again after restore', async () => {
    expect((await cut.req('/health/ready')).status).toBe(200)
    proxy.cut()
    const res = await readyBecomes(cut, 503)
    expect(res.status).toBe(503)
    expect(await body(res)).toEqual({ code: 503, msg: 'Database unreachable', error_id: res.headers.get('x-request-id') as string })
    expect((await cut.req('/health/live')).status).toBe(200)
    proxy.restore()
    expect((await readyBecomes(cut, 200)).status).toBe(200)
  })
})
