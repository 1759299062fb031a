// The CLI as a user runs it: a fresh folder, no configuration, `gotrue migrate` then `gotrue serve`; and the
// start-ups it refuses with one line naming what is missing.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pkg from '../package.json' with { type: 'json' }
import { MYSQL_URL } from './harness.ts'

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const baseEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' }
const run = (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const p = Bun.spawnSync(['bun', BIN, ...args], { cwd, env: { ...baseEnv, ...env } })
  return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() }
}
const children: Bun.Subprocess[] = []
afterAll(() => { for (const c of children) c.kill() })

async function waitForUrl(url: string, ms = 10_000): Promise<Response> {
  const end = Date.now() + ms
  for (;;) {
    try { return await fetch(url) } catch (e) { if (Date.now() > end) throw e }
    await Bun.sleep(50)
  }
}

describe('gotrue CLI', () => {
  test('version and help', () => {
    const d = mkdtempSync(join(tmpdir(), 'gotrue-cli-'))
    expect(run(['version'], d).out.trim()).toBe(pkg.version)
    const help = run(['--help'], d)
    expect(help.code).toBe(0)
    for (const verb of ['serve', 'migrate', 'openapi', 'version']) expect(help.out).toContain(verb)
    const bad = run(['frobnicate'], d)
    expect(bad.code).toBe(2)
    expect(bad.err).toContain('unknown command')
  })

  test('serve refuses pending migrations and names the command', () => {
    const d = mkdtempSync(join(tmpdir(), 'gotrue-cli-'))
    const r = run(['serve'], d, { GOTRUE_API_PORT: '0' })
    expect(r.code).toBe(1)
    expect(r.err).toContain('pending migration')
    expect(r.err).toContain('gotrue migrate')
  })

  test('zero setup: migrate, then serve answers /settings; the JWT secret is generated owner-only', async () => {
    const d = mkdtempSync(join(tmpdir(), 'gotrue-cli-'))
    const m = run(['migrate'], d)
    expect(m.code).toBe(0)
    expect(m.out).toContain('applied 0001_init')
    expect(run(['migrate'], d).out).toContain('up to date')
    const port = 20000 + Math.floor(Math.random() * 20000)
    const child = Bun.spawn(['bun', BIN, 'serve'], { cwd: d, env: { ...baseEnv, PORT: String(port) }, stderr: 'pipe', stdout: 'pipe' })
    children.push(child)
    const res = await waitForUrl(`http://127.0.0.1:${port}/settings`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { external: { email: boolean } }).external.email).toBe(true)
    expect(statSync(join(d, 'data', 'jwt-secret')).mode & 0o777).toBe(0o600)
    child.kill('SIGTERM')
    expect(await child.exited).toBe(0)
    const log = await new Response(child.stderr).text()
    expect(log).toContain('GOTRUE_JWT_SECRET is not set')
    expect(log).toContain('GoTrue API started on')
  })

  test('GOTRUE_DB_AUTOMIGRATE=true migrates at serve', async () => {
    const d = mkdtempSync(join(tmpdir(), 'gotrue-cli-'))
    const port = 20000 + Math.floor(Math.random() * 20000)
    const child = Bun.spawn(['bun', BIN], { cwd: d, env: { ...baseEnv, PORT: String(port), GOTRUE_DB_AUTOMIGRATE: 'true' }, stderr: 'ignore' })
    children.push(child)
    expect((await waitForUrl(`http://127.0.0.1:${port}/health`)).status).toBe(200)
    child.kill('SIGTERM')
    await child.exited
  })

  test('MySQL without GOTRUE_JWT_SECRET is a start-up error', () => {
    const d = mkdtempSync(join(tmpdir(), 'gotrue-cli-'))
    const r = run(['serve'], d, { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL || 'root@tcp(127.0.0.1:3306)/test' })
    expect(r.code).toBe(1)
    expect(r.err.trim()).toBe('gotrue: GOTRUE_JWT_SECRET: required when GOTRUE_DB_DRIVER=mysql (expected a long random string)')
  })
})

describe('gotrue multi refuses to start without its secrets', () => {
  const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
  const run = (args: string[], env: Record<string, string>) => {
    const cwd = mkdtempSync(join(tmpdir(), 'gotrue-multi-'))
    const p = Bun.spawnSync(['bun', BIN, ...args], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(cwd, 'gotrue.db'),
        GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_JWT_SECRET: 'cli-test-secret-long-enough-for-hs256', GOTRUE_API_PORT: '0', ...env,
      },
    })
    return { code: p.exitCode, err: p.stderr.toString().trim() }
  }

  test('`gotrue multi` without GOTRUE_OPERATOR_TOKEN → exit 1, one line naming it', () => {
    const r = run(['multi'], { GOTRUE_DB_ENCRYPTION_KEY: 'encryption-key-for-instance-secrets-in-tests' })
    expect(r.code).toBe(1)
    expect(r.err.split('\n')).toHaveLength(1)
    expect(r.err).toContain('GOTRUE_OPERATOR_TOKEN')
  })

  test('GOTRUE_MULTIINSTANCEMODE=true without GOTRUE_DB_ENCRYPTION_KEY → exit 1, one line naming it', () => {
    const r = run(['serve'], { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_OPERATOR_TOKEN: 'operator-token-for-tests' })
    expect(r.code).toBe(1)
    expect(r.err.split('\n')).toHaveLength(1)
    expect(r.err).toContain('GOTRUE_DB_ENCRYPTION_KEY')
  })
})

describe.if(Boolean(Bun.which('script')))('admin export and import on a terminal', () => {
  // `script` gives the command a pseudo-terminal: progress is written only for a person watching.
  const inTty = (cmd: string, cwd: string) => {
    const p = Bun.spawnSync(['script', '-qc', cmd, '/dev/null'], { cwd, env: { ...baseEnv, GOTRUE_JWT_SECRET: 'cli-test-secret-long-enough-for-hs256' } })
    return p.stdout.toString()
  }
  test('export shows progress against the total; import shows a total', () => {
    const d = mkdtempSync(join(tmpdir(), 'gotrue-cli-'))
    expect(run(['migrate'], d).code).toBe(0)
    for (const e of ['a@example.com', 'b@example.com', 'c@example.com']) expect(run(['admin', 'createuser', e, 'password-123'], d, { GOTRUE_JWT_SECRET: 'cli-test-secret-long-enough-for-hs256' }).code).toBe(0)
    const exported = inTty(`bun ${BIN} admin export out.json`, d)
    expect(exported).toContain('exporting… 1 of 3 users')
    expect(exported).toContain('exporting… 3 of 3 users')
    const imported = inTty(`bun ${BIN} admin import out.json`, d)
    expect(imported).toContain('importing… 3 of 3 users')
    expect(imported).toContain('3 unchanged')
    // Not on a pipe: no progress at all.
    expect(run(['admin', 'export', 'again.json'], d).err).not.toContain('exporting')
  })
})
