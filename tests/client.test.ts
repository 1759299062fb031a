// The client package (openapi/client) against the running server: its generated types match the document, a whole
// account's life goes through it, its types refuse the usual mistakes (tests/client-types.ts), and, in the full
// tier, a separate frontend project installs the packed package with elysia, Eden and gotrue-js from npm, type-
// checks Eden's standalone `App`, and runs README's three "Calling the API from a frontend" examples.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { appDeclaration, build, schemaTypes } from '../openapi/client/build.ts'
import { createClient, errorMessage, isOAuthError } from '../openapi/client/src/index.ts'
import { slow, startServer, tokenFromMail, type TestServer } from './harness.ts'
import { freshEmail, PASSWORD } from './helpers.ts'

const ROOT = join(import.meta.dir, '..')
const CLIENT = join(ROOT, 'openapi', 'client')
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc')
const EXAMPLES = ['client', 'eden', 'gotrue-js'] as const

/** `tsc --noEmit -p <dir>`: its exit code and the diagnostics, one per line. */
function tsc(project: string): { code: number; lines: string[] } {
  const p = Bun.spawnSync([TSC, '--noEmit', '-p', project], { cwd: project, stdout: 'pipe', stderr: 'pipe' })
  return { code: p.exitCode ?? -1, lines: `${p.stdout}${p.stderr}`.split('\n').filter((l) => /error TS\d+/.test(l)) }
}

let s: TestServer
beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'false' } }) })
afterAll(() => s.stop())

test('openapi/client/src/schema.ts is up to date with openapi/openapi.json (run `bun run openapi`)', async () => {
  expect(readFileSync(join(CLIENT, 'src', 'schema.ts'), 'utf8')).toBe(await schemaTypes())
})

test('a whole account through the client: signup → verify → token → user → update → refresh → logout', async () => {
  const sent: { path: string; type: string | null; auth: string | null }[] = []
  const spy: typeof fetch = Object.assign((input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init)
    sent.push({ path: new URL(req.url).pathname, type: req.headers.get('content-type'), auth: req.headers.get('authorization') })
    return fetch(req)
  }, { preconnect: fetch.preconnect })
  const auth = createClient({ url: s.url, fetch: spy })
  const email = freshEmail('client')

  const signup = await auth.signup({ email, password: PASSWORD, data: { full_name: 'Ada' } })
  expect(signup.error).toBeUndefined()
  expect(signup.data?.email).toBe(email)
  // not confirmed yet: the password grant is refused, as an OAuth error value (not a throw)
  const early = await auth.login(email, PASSWORD)
  expect(early.error && isOAuthError(early.error) && early.error.error).toBe('invalid_grant')

  const verified = await auth.verify({ type: 'signup', token: tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token') })
  expect(typeof verified.data?.expires_in).toBe('number')
  expect(auth.session?.access_token).toBe(verified.data?.access_token as string)

  const login = await auth.login(email, PASSWORD)
  if (login.error) throw new Error(errorMessage(login.error))
  expect(login.data.token_type).toBe('bearer')
  // /token gets the form body OAuth2 specifies; no bearer token goes with it
  expect(sent.filter((r) => r.path === '/token').every((r) => r.type === 'application/x-www-form-urlencoded' && r.auth === null)).toBe(true)

  const me = await auth.user()
  expect(me.data).toMatchObject({ email, user_metadata: { full_name: 'Ada' } })
  expect(sent.at(-1)).toEqual({ path: '/user', type: null, auth: `Bearer ${login.data.access_token}` })

  const updated = await auth.updateUser({ data: { full_name: 'Ada Lovelace' } })
  expect(updated.data?.user_metadata).toEqual({ full_name: 'Ada Lovelace' })

  const refreshed = await auth.refresh()
  expect(refreshed.data?.refresh_token).toBeString()
  expect(refreshed.data?.refresh_token).not.toBe(login.data.refresh_token)
  expect(auth.session?.refresh_token).toBe(refreshed.data?.refresh_token as string)

  const old = createClient({ url: s.url })
  old.setSession({ ...login.data, refresh_token: 'no-such-refresh-token' })
  const refused = await old.refresh() // refused, and the client forgets the session it cannot renew
  expect(refused.error).toMatchObject({ status: 400, error: 'invalid_grant' })
  expect(old.session).toBeNull()

  expect(await auth.logout()).toEqual({ data: null })
  expect(auth.session).toBeNull()
  const after = createClient({ url: s.url })
  after.setSession(refreshed.data as NonNullable<typeof refreshed.data>)
  const gone = await after.user() // the ended session's access token is refused, and so is its refresh token
  const again = await after.refresh()
  expect(gone.error?.status).toBe(401)
  expect(again.error && isOAuthError(again.error) && again.error.error).toBe('invalid_grant')
})

test('GoTrue errors are values with an integer code; a proxy\'s non-JSON answer becomes one too', async () => {
  const auth = createClient({ url: s.url })
  const bad = await auth.signup({ email: 'not-an-email', password: PASSWORD })
  expect(bad.error).toMatchObject({ status: 422, code: 422 })
  expect(errorMessage(bad.error as NonNullable<typeof bad.error>)).toBeString()
  const unauth = await auth.user()
  expect(unauth.error).toEqual({ status: 401, code: 401, msg: 'This endpoint requires a Bearer token' })
  const html = createClient({ url: s.url, fetch: Object.assign(async () => new Response('<h1>Bad Gateway</h1>', { status: 502, headers: { 'content-type': 'text/html' } }), { preconnect: fetch.preconnect }) })
  expect((await html.settings()).error).toEqual({ status: 502, code: 502, msg: '<h1>Bad Gateway</h1>' })
})

test('the access token is refreshed shortly before it expires (on this client\'s clock), once for concurrent calls', async () => {
  const email = freshEmail('client-exp')
  const admin = createClient({ url: s.url })
  await admin.signup({ email, password: PASSWORD })
  await admin.verify({ type: 'signup', token: tokenFromMail(await s.smtp.waitForMail(email), 'confirmation_token') })
  let clock = Date.now()
  let refreshes = 0
  const counting: typeof fetch = Object.assign((input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init)
    if (new URL(req.url).pathname === '/token') refreshes++
    return fetch(req)
  }, { preconnect: fetch.preconnect })
  const auth = createClient({ url: s.url, fetch: counting, now: () => clock })
  const login = await auth.login(email, PASSWORD)
  refreshes = 0
  await auth.user()
  expect(refreshes).toBe(0)
  clock += ((login.data?.expires_in ?? 0) - 30) * 1000 // within the 60 s margin
  const [a, b] = await Promise.all([auth.user(), auth.user()])
  expect(refreshes).toBe(1)
  expect([a.data?.email, b.data?.email]).toEqual([email, email])
  expect(auth.session?.refresh_token).not.toBe(login.data?.refresh_token)
})

test('the client\'s types refuse each mistake of tests/client-types.ts and accept the correct calls (tsc)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-client-types-'))
  try {
    // a canary with nothing to expect: tsc must report it (TS2578), or an unused directive would go unseen
    writeFileSync(join(dir, 'canary.ts'), '// @ts-expect-error nothing is wrong on the next line\nexport const fine: number = 1\n')
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(ROOT, 'tsconfig.json'), compilerOptions: { types: [] }, include: [], files: [join(import.meta.dir, 'client-types.ts'), join(dir, 'canary.ts')] }))
    const r = tsc(dir)
    expect(r.lines).toEqual([expect.stringMatching(/canary\.ts\(1,1\): error TS2578: Unused '@ts-expect-error' directive/)])
  } finally { rmSync(dir, { recursive: true, force: true }) }
})

test('README shows each example of openapi/client/examples verbatim, under "Calling the API from a frontend"', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('## Calling the API from a frontend'))
  expect(section.length).toBeLessThan(readme.length)
  for (const name of EXAMPLES) {
    const code = readFileSync(join(CLIENT, 'examples', `${name}.ts`), 'utf8')
    expect({ name, shown: section.includes(`\`\`\`ts\n${code}\`\`\``) }).toEqual({ name, shown: true })
    expect({ name, lines: code.trim().split('\n').length <= 12 }).toEqual({ name, lines: true })
  }
})

slow.test('openapi/client/app.d.ts is up to date with app.ts (run `bun run openapi`)', () => {
  expect(readFileSync(join(CLIENT, 'app.d.ts'), 'utf8')).toBe(appDeclaration())
}, 60_000)

slow.describe('a separate frontend project', () => {
  let dir: string
  let app: TestServer
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gotrue-frontend-'))
    app = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true' } })
    // the package as npm would ship it: built, packed, installed from the tarball next to elysia from the registry
    build()
    const pack = Bun.spawnSync(['bun', 'pm', 'pack', '--destination', dir, '--quiet'], { cwd: CLIENT, stdout: 'pipe', stderr: 'pipe' })
    expect(pack.exitCode).toBe(0)
    const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'))
    const versions = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> }
    writeFileSync(join(dir, 'package.json'), JSON.stringify({
      name: 'frontend', private: true, type: 'module',
      dependencies: {
        elysia: versions.dependencies.elysia,
        '@elysiajs/eden': versions.devDependencies['@elysiajs/eden'],
        'gotrue-js': versions.devDependencies['gotrue-js'],
        '@gotrue-bun/client': `file:./${tgz}`,
      },
    }))
    // a frontend's usual settings: DOM, no Bun or Node types, strict, libraries' own .d.ts not re-checked
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', lib: ['ES2022', 'DOM'], types: [], strict: true, noEmit: true, skipLibCheck: true }, include: ['*.ts'] }))
    const install = Bun.spawnSync(['bun', 'install', '--prefer-offline'], { cwd: dir, stdout: 'pipe', stderr: 'pipe' })
    if (install.exitCode !== 0) throw new Error(`bun install: ${install.stderr}`)
    for (const name of EXAMPLES) cpSync(join(CLIENT, 'examples', `${name}.ts`), join(dir, `${name}.ts`))
  }, 120_000)
  afterAll(async () => {
    await app?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  test('it type-checks: the client package, Eden with the standalone App, gotrue-js; a wrong Eden call does not', () => {
    expect(tsc(dir)).toEqual({ code: 0, lines: [] })
    writeFileSync(join(dir, 'wrong.ts'), [
      "import { treaty } from '@elysiajs/eden'",
      "import type { App } from '@gotrue-bun/client/app'",
      'const api = treaty<App>("http://localhost")',
      "export const a = api.token.post({ grant_type: 'password', username: 'a@example.com', password: 1 })",
      "export const b = api.user.put({ email: 5 }, { headers: { authorization: 'Bearer x' } })",
      "export const c = api.user.get().then((r) => r.data?.emial)",
      '',
    ].join('\n'))
    try {
      const r = tsc(dir)
      expect(r.code).not.toBe(0)
      expect(r.lines.map((l) => l.replace(/^wrong\.ts\((\d+),\d+\).*$/, '$1'))).toEqual(['4', '5', '6'])
    } finally { rmSync(join(dir, 'wrong.ts')) }
  }, 60_000)

  test('README\'s three examples run against the server', async () => {
    // gotrue-js warns about http:// on every construction
    const warn = console.warn
    console.warn = () => {}
    try {
      for (const name of EXAMPLES) {
          const { example } = await import(join(dir, `${name}.ts`)) as { example(url: string, email: string, password: string): Promise<string> }
        expect({ name, result: await example(app.url, freshEmail(`readme-${name}`), PASSWORD) }).toEqual({ name, result: 'Ada Lovelace' })
      }
    } finally { console.warn = warn }
  }, 60_000)
})
