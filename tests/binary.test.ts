// The single binary (`bun run build`): built once with the exact package.json command, then run from a folder
// with no source tree beside it. Everything the source run reads from disk (migrations, mail templates, the
// Swagger UI files) must come out of the binary itself.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pkg from '../package.json' with { type: 'json' }
import { openMysql } from '../lib/db/mysql.ts'
import { MIGRATIONS } from '../migrations/index.ts'
import { type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'
import { body, dropNamespace, form, MYSQL_URL, slow, TEST_ENV, tokenFromMail } from './harness.ts'
import { OPERATOR } from './helpers.ts'

const ROOT = join(import.meta.dir, '..')
const TEMPLATES = join(ROOT, 'templates')
const SWAGGER = join(ROOT, 'node_modules', 'swagger-ui-dist')
const VERSIONS = [...new Set(MIGRATIONS.map((m) => `${m.version}_${m.name}`))].sort()

const build = mkdtempSync(join(tmpdir(), 'gotrue-binary-'))
const cwd = mkdtempSync(join(tmpdir(), 'gotrue-binary-cwd-')) // nothing in it: no migrations/, templates/, node_modules/
const BIN = join(build, 'gotrue')
let smtp: SmtpCapture
let server: Bun.Subprocess<'ignore', 'pipe', 'pipe'> | undefined
let serverOutput = ''
let url = ''

/** The environment of every run: the harness's site settings, a SQLite file in cwd, the SMTP capture. */
const env = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '', HOME: cwd, ...(TEST_ENV as Record<string, string>),
  GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(cwd, 'gotrue.db'),
  GOTRUE_SMTP_HOST: smtp.host, GOTRUE_SMTP_PORT: String(smtp.port), GOTRUE_SMTP_ADMIN_EMAIL: 'admin@example.com',
  ...extra,
})
async function run(args: string[], extra: Record<string, string> = {}) {
  const p = Bun.spawn([BIN, ...args], { cwd, env: env(extra), stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { code, out, err }
}
/** Reads a stream into serverOutput until `until` matches it; keeps reading in the background afterwards. */
async function follow(stream: ReadableStream<Uint8Array>, until?: RegExp): Promise<RegExpExecArray | null> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return null
    serverOutput += decoder.decode(value, { stream: true })
    const m = until?.exec(serverOutput)
    if (m) {
      void (async () => { for (let r = await reader.read(); !r.done; r = await reader.read()) serverOutput += decoder.decode(r.value, { stream: true }) })()
      return m
    }
  }
}
const req = (path: string, init: RequestInit & { json?: unknown } = {}) => {
  const { json, ...rest } = init
  const headers = new Headers(rest.headers)
  if (json !== undefined) headers.set('content-type', 'application/json')
  return fetch(url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body })
}

// Outside the slow block: the folders above exist in every tier.
afterAll(async () => {
  if (server) { server.kill('SIGTERM'); await server.exited }
  await smtp?.stop()
  rmSync(build, { recursive: true, force: true })
  rmSync(cwd, { recursive: true, force: true })
})

slow.describe('the single binary (bun run build)', () => {
  beforeAll(async () => {
    expect(pkg.scripts.build).toContain('--outfile dist/gotrue')
    const cmd = pkg.scripts.build.replace('dist/gotrue', BIN).split(' ')
    const b = Bun.spawnSync(cmd, { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    if (b.exitCode !== 0) throw new Error(`${pkg.scripts.build} failed:\n${b.stderr.toString()}`)
    smtp = await startSmtpCapture()
  }, 120_000)

  describe('the CLI verbs', () => {
    test('version prints the package version', async () => {
      expect(await run(['version'])).toEqual({ code: 0, out: `${pkg.version}\n`, err: '' })
    })

    test('migrate applies the embedded migrations to a SQLite file, then finds nothing to do', async () => {
      const first = await run(['migrate'])
      expect(first.err).toBe('')
      expect(first).toMatchObject({ code: 0, out: VERSIONS.map((v) => `migrate: applied ${v}\n`).join('') })
      expect(await run(['migrate'])).toMatchObject({ code: 0, out: 'migrate: database is up to date\n' })
    })

    test('openapi writes openapi/openapi.json in the working folder (and --stdout prints it); config --effective', async () => {
      const written = await run(['openapi'])
      expect(written.err).toBe('')
      expect(written.code).toBe(0)
      const file = join(cwd, 'openapi', 'openapi.json')
      const spec = JSON.parse(await Bun.file(file).text()) as { info: { version: string }; paths: Record<string, unknown> }
      expect(spec.info.version).toBe(pkg.version)
      expect(Object.keys(spec.paths)).toContain('/health/ready')
      const printed = await run(['openapi', '--stdout'])
      expect(JSON.parse(printed.out)).toEqual(spec)
      rmSync(join(cwd, 'openapi'), { recursive: true, force: true })
      const effective = await run(['config', '--effective'])
      expect(effective.code).toBe(0)
      expect(effective.out).toMatch(/^GOTRUE_DB_DRIVER=sqlite\s+# env$/m)
      expect(effective.out).toMatch(/^GOTRUE_JWT_SECRET=\*{8}\s+# env$/m)
    })

    test('admin createuser writes a confirmed user', async () => {
      const r = await run(['admin', 'createuser', 'root@example.com', 'root-password-1', '--confirm', '--admin'])
      expect(r.code).toBe(0)
      expect(r.out).toContain('root@example.com')
    })
  })

  describe('serve', () => {
    beforeAll(async () => {
      server = Bun.spawn([BIN, 'serve'], { cwd, env: env({ PORT: '0', GOTRUE_LOG_LEVEL: 'info' }), stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
      void follow(server.stdout)
      const started = await follow(server.stderr, /GoTrue API started on: 0\.0\.0\.0:(\d+)/)
      if (!started) throw new Error(`serve exited:\n${serverOutput}`)
      url = `http://127.0.0.1:${started[1]}`
    }, 30_000)

    test('healthcheck (the Docker HEALTHCHECK) exits 0 against the running server', async () => {
      const r = await run(['healthcheck'], { GOTRUE_API_PORT: new URL(url).port })
      expect(r).toEqual({ code: 0, out: '', err: '' })
    })

    test('GET /health and GET /settings answer', async () => {
      const health = await req('/health')
      expect(health.status).toBe(200)
      expect(await body(health)).toEqual({ description: 'GoTrue is a user registration and authentication API', name: 'GoTrue', version: pkg.version })
      const settings = await req('/settings')
      expect(settings.status).toBe(200)
      expect(await body(settings)).toMatchObject({ disable_signup: false, autoconfirm: false, external: { email: true } })
    })

    test('the Swagger UI page, its embedded files (byte for byte) and the spec are served', async () => {
      const page = await req('/openapi')
      expect(page.status).toBe(200)
      expect(await page.text()).toContain('/openapi/assets/swagger-ui-bundle.js')
      for (const [file, type] of [['swagger-ui-bundle.js', 'text/javascript'], ['swagger-ui.css', 'text/css']] as const) {
        const res = await req(`/openapi/assets/${file}`)
        expect(res.status).toBe(200)
        expect(res.headers.get('content-type')).toStartWith(type)
        expect((await res.arrayBuffer()).byteLength).toBe(statSync(join(SWAGGER, file)).size)
      }
      const spec = await body<{ info: { version: string } }>(await req('/openapi/json'))
      expect(spec.info.version).toBe(pkg.version)
    })

    test('signup sends the default confirmation mail over SMTP, and its link verifies', async () => {
      const res = await req('/signup', { method: 'POST', json: { email: 'new@example.com', password: 'new-password-1' } })
      expect(res.status).toBe(200)
      expect(await body(res)).toMatchObject({ email: 'new@example.com', confirmation_sent_at: expect.any(String) })
      const mail = await smtp.waitForMail('new@example.com')
      const token = tokenFromMail(mail, 'confirmation_token')
      // The exact default template, filled by hand from the files in templates/: the binary carries these files.
      // (Eta drops the newline right after a tag: `<%~ it.body %>\n`.)
      const inner = (await Bun.file(join(TEMPLATES, 'confirmation.eta')).text())
        .replace('<%= it.ConfirmationURL %>', `https://example.netlify.com/#confirmation_token=${token}`)
      const expected = (await Bun.file(join(TEMPLATES, 'layout.eta')).text())
        .replace('<%= it.title %>', 'Confirm your signup').replace('<%~ it.body %>\n', inner)
      expect(mail.html.replace(/\r\n/g, '\n')).toBe(expected)
      const verified = await req('/verify', { method: 'POST', json: { type: 'signup', token } })
      expect(verified.status).toBe(200)
      expect(await body(verified)).toMatchObject({ token_type: 'bearer', access_token: expect.any(String) })
    })

    test('the user created by `admin createuser` logs in; the admin API lists both users', async () => {
      const login = await req('/token', form({ grant_type: 'password', username: 'root@example.com', password: 'root-password-1' }))
      expect(login.status).toBe(200)
      const { access_token } = await body<{ access_token: string }>(login)
      const me = await req('/user', { headers: { authorization: `Bearer ${access_token}` } })
      expect(await body(me)).toMatchObject({ email: 'root@example.com', role: 'admin' })
      const list = await req('/admin/users', { headers: OPERATOR })
      expect(list.status).toBe(200)
      const { users } = await body<{ users: { email: string }[] }>(list)
      expect(users.map((u) => u.email).sort()).toEqual(['new@example.com', 'root@example.com'])
    })

    test('the framework understood every handler it compiled (no Sucrose warnings, no 500s)', async () => {
      // `--minify` (whitespace and identifiers) breaks Elysia's handler inference: `resolve({ headers })` of the
      // admin guard then sees no headers and every admin request fails with a 500. The build must not minify that way.
      for (let i = 0; i < 100 && !serverOutput.includes('"path":"/admin/users"'); i++) await Bun.sleep(20) // the log trails the response
      expect(serverOutput).toContain('"path":"/admin/users","status":200')
      expect(serverOutput).not.toContain('[Sucrose]')
      expect(serverOutput).not.toContain('"status":500')
    })
  })

  describe.if(Boolean(MYSQL_URL))('on MySQL', () => {
    test('migrate applies the embedded MySQL migrations in a fresh table namespace', async () => {
      const ns = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
      const my = openMysql(MYSQL_URL, ns)
      try {
        const r = await run(['migrate'], { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: ns })
        expect(r).toMatchObject({ code: 0, out: VERSIONS.map((v) => `migrate: applied ${v}\n`).join('') })
        const applied = await my.all<{ version: string }>('SELECT version FROM {schema_migrations} ORDER BY version')
        expect(applied.map((a) => a.version)).toEqual(VERSIONS.map((v) => v.slice(0, 4)))
        expect(await my.get('SELECT COUNT(*) AS n FROM {users}')).toEqual({ n: 0 })
      } finally {
        await dropNamespace(my, ns)
        await my.close()
      }
    })
  })
})
