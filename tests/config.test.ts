// Configuration: names, precedence, conversions and fail-fast errors (lib/config.ts), plus the CLI's one-line
// error and non-zero exit for a bad value.
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig, parseDuration } from '../lib/config.ts'
import { describeConfig } from '../lib/config-schema.ts'

const dir = () => mkdtempSync(join(tmpdir(), 'gotrue-config-'))
const load = (env: Record<string, string>, dotenv?: string) => {
  const cwd = dir()
  if (dotenv !== undefined) writeFileSync(join(cwd, '.env'), dotenv)
  return loadConfig({ env, cwd })
}

describe('defaults', () => {
  test('zero configuration: port 8081, SQLite data file, reference defaults', () => {
    const c = load({})
    expect(c.api.port).toBe(8081)
    expect(c.db.driver).toBe('sqlite')
    expect(c.db.url).toBe('./data/gotrue.db')
    expect(c.jwt.exp).toBe(3600)
    expect(c.jwt.admin_group_name).toBe('admin')
    expect(c.jwt.refresh_token_lifetime).toBe(2592000)
    expect(c.smtp.max_frequency).toBe(900)
    expect(c.mailer.invite_max_age).toBe(7 * 86400)
    expect(c.mailer.subjects.confirmation).toBe('Confirm Your Signup')
    expect(c.mailer.url_paths.recovery).toBe('/')
    expect(c.webhook.retries).toBe(3)
    expect(c.webhook.timeout_sec).toBe(5)
    expect(c.cookie.key).toBe('nf_jwt')
    expect(c.password.min_length).toBe(8)
    expect(c.security.refresh_token_reuse_interval).toBe(10)
  })
})

describe('precedence', () => {
  test('the environment wins over the .env file', () => {
    const c = load({ GOTRUE_JWT_AUD: 'from-env' }, 'GOTRUE_JWT_AUD=from-file\nGOTRUE_JWT_EXP=120\n')
    expect(c.jwt.aud).toBe('from-env')
    expect(c.jwt.exp).toBe(120)
  })

  test('GOTRUE_-prefixed names win over the unprefixed alternatives', () => {
    expect(load({ PORT: '9000' }).api.port).toBe(9000)
    expect(load({ PORT: '9000', GOTRUE_API_PORT: '9001' }).api.port).toBe(9001)
    expect(load({ DATABASE_URL: '/tmp/x.db' }).db.url).toBe('/tmp/x.db')
    expect(load({ REQUEST_ID_HEADER: 'X-Req' }).api.request_id_header).toBe('X-Req')
    // like godotenv + envconfig: a prefixed name in the file beats an unprefixed one in the environment
    expect(load({ PORT: '9000' }, 'GOTRUE_API_PORT=9002').api.port).toBe(9002)
  })

  test('README spellings: WEBHOOK_TIMEOUT_SEC and WEBHOOK_TIMEOUTSEC; SERVICE_NAME', () => {
    expect(load({ GOTRUE_WEBHOOK_TIMEOUT_SEC: '7' }).webhook.timeout_sec).toBe(7)
    expect(load({ GOTRUE_WEBHOOK_TIMEOUTSEC: '8', GOTRUE_WEBHOOK_TIMEOUT_SEC: '7' }).webhook.timeout_sec).toBe(8)
    expect(load({ GOTRUE_SERVICE_NAME: 'svc' }).tracing.service_name).toBe('svc')
  })

  test('--config FILE is read, and a missing one is an error', () => {
    const d = dir()
    writeFileSync(join(d, 'site.env'), '# comment\nexport GOTRUE_SITE_URL="https://site.example"\nGOTRUE_MAILER_AUTOCONFIRM=true # inline\n')
    const c = loadConfig({ env: {}, file: join(d, 'site.env') })
    expect(c.site_url).toBe('https://site.example')
    expect(c.mailer.autoconfirm).toBe(true)
    expect(() => loadConfig({ env: {}, file: join(d, 'missing.env') })).toThrow(ConfigError)
  })
})

describe('conversions', () => {
  test('durations: Go syntax or seconds', () => {
    expect(parseDuration('900s')).toBe(900)
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('1h30m')).toBe(5400)
    expect(parseDuration('900')).toBe(900)
    expect(parseDuration('fifteen')).toBeUndefined()
    expect(load({ GOTRUE_SMTP_MAX_FREQUENCY: '900s' }).smtp.max_frequency).toBe(900)
    expect(load({ GOTRUE_SMTP_MAX_FREQUENCY: '60' }).smtp.max_frequency).toBe(60)
    expect(load({ GOTRUE_MAILER_INVITE_MAX_AGE: '48h' }).mailer.invite_max_age).toBe(172800)
  })

  test('booleans as Go ParseBool, lists and maps', () => {
    expect(load({ GOTRUE_DISABLE_SIGNUP: 'T' }).disable_signup).toBe(true)
    expect(load({ GOTRUE_DISABLE_SIGNUP: '0' }).disable_signup).toBe(false)
    expect(load({ GOTRUE_WEBHOOK_EVENTS: 'validate, signup,login' }).webhook.events).toEqual(['validate', 'signup', 'login'])
    expect(load({ GOTRUE_TRACING_TAGS: 'env:prod,team:id' }).tracing.tags).toEqual({ env: 'prod', team: 'id' })
  })

  test('reference normalisations: JWT_EXP 0 means 3600, retries 0 means 3', () => {
    expect(load({ GOTRUE_JWT_EXP: '0' }).jwt.exp).toBe(3600)
    expect(load({ GOTRUE_WEBHOOK_RETRIES: '0' }).webhook.retries).toBe(3)
  })
})

describe('bad values stop the start with a message naming the variable', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ GOTRUE_API_PORT: 'eighty' }, /^GOTRUE_API_PORT: expected an integer from 0 to 65535, got "eighty"$/],
    [{ PORT: '70000' }, /^GOTRUE_API_PORT: expected an integer/],
    [{ GOTRUE_DISABLE_SIGNUP: 'yes' }, /^GOTRUE_DISABLE_SIGNUP: expected a boolean/],
    [{ GOTRUE_SMTP_MAX_FREQUENCY: '15 minutes' }, /^GOTRUE_SMTP_MAX_FREQUENCY: expected a duration/],
    [{ GOTRUE_LOG_LEVEL: 'loud' }, /^GOTRUE_LOG_LEVEL: expected one of panic, fatal/],
    [{ GOTRUE_DB_DRIVER: 'postgres' }, /^GOTRUE_DB_DRIVER: expected one of sqlite, mysql/],
    [{ GOTRUE_DB_DRIVER: 'mysql' }, /^DATABASE_URL: required/],
    [{ GOTRUE_WEBHOOK_EVENTS: 'signup,deleted' }, /^GOTRUE_WEBHOOK_EVENTS: expected events/],
    [{ GOTRUE_SITE_URL: 'not a url' }, /^GOTRUE_SITE_URL: expected an absolute URL/],
    [{ GOTRUE_TRACING_TAGS: 'novalue' }, /^GOTRUE_TRACING_TAGS: expected a map/],
  ]
  for (const [env, re] of cases) {
    test(Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' '), () => {
      expect(() => load(env)).toThrow(re)
    })
  }

  test('the CLI prints one line and exits non-zero', () => {
    const p = Bun.spawnSync(['bun', join(import.meta.dir, '..', 'bin', 'gotrue.ts'), 'serve'], {
      cwd: dir(), env: { PATH: process.env.PATH ?? '', GOTRUE_API_PORT: 'eighty' },
    })
    const err = p.stderr.toString().trim()
    expect(p.exitCode).not.toBe(0)
    expect(err.split('\n')).toHaveLength(1)
    expect(err).toContain('GOTRUE_API_PORT')
  })
})

test('every variable is documented in README.md and .env.example', async () => {
  const readme = await Bun.file(join(import.meta.dir, '..', 'README.md')).text()
  const example = await Bun.file(join(import.meta.dir, '..', '.env.example')).text()
  const missing = describeConfig().filter((r) => !readme.includes(`\`${r.env}\``) || !example.includes(`${r.env}=`)).map((r) => r.env)
  expect(missing).toEqual([])
})

describe('feedback on the configuration in effect', () => {
  const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
  const cli = (args: string[], env: Record<string, string>, dotenv?: string) => {
    const cwd = dir()
    if (dotenv !== undefined) writeFileSync(join(cwd, '.env'), dotenv)
    const p = Bun.spawnSync(['bun', BIN, ...args], { cwd, env: { PATH: process.env.PATH ?? '', HOME: cwd, ...env } })
    return { code: p.exitCode, out: p.stdout.toString(), err: p.stderr.toString() }
  }

  test('an unknown GOTRUE_* name: one warning each, with the closest known name when one is near', () => {
    const r = cli(['config', '--effective'], { GOTRUE_SMTP_HOTS: 'smtp.example.com', GOTRUE_SITEURL: 'https://a.example', GOTRUE_ZZZZZZZZZZZZ: '1', GOTRUE_SMTP_HOST: 'x' })
    expect(r.code).toBe(0)
    const warnings = r.err.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>)
    expect(warnings.map((w) => [w.level, w.variable, w.closest])).toEqual([
      ['warn', 'GOTRUE_SITEURL', 'GOTRUE_SITE_URL'],
      ['warn', 'GOTRUE_SMTP_HOTS', 'GOTRUE_SMTP_HOST'],
      ['warn', 'GOTRUE_ZZZZZZZZZZZZ', undefined],
    ])
    expect(warnings[1]?.msg).toBe('unknown configuration variable GOTRUE_SMTP_HOTS is ignored; did you mean GOTRUE_SMTP_HOST?')
    // Known names, unprefixed alternatives and other programs' variables are not warned about.
    expect(cli(['config', '--effective'], { PORT: '9000', GOTRUE_SMTP_HOST: 'x', NODE_ENV: 'production' }).err).toBe('')
  })

  test('config --effective: the values in effect, each with its source; secrets masked, the DSN without its password', () => {
    const r = cli(['config', '--effective'], {
      GOTRUE_SMTP_PASS: 'smtp-password-from-env', GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: 'mysql://gotrue:db-password-9@db.internal:3306/gotrue',
      GOTRUE_JWT_SECRET: 'jwt-secret-from-the-environment', PORT: '9000',
    }, 'GOTRUE_SITE_URL=https://from-file.example\nGOTRUE_SMTP_PASS=smtp-password-from-file\n')
    expect(r.code).toBe(0)
    const line = (name: string) => r.out.split('\n').find((l) => l.startsWith(`${name}=`))?.replace(/\s+#/, ' #')
    expect(line('GOTRUE_SITE_URL')).toBe('GOTRUE_SITE_URL=https://from-file.example # .env')
    expect(line('GOTRUE_SMTP_PASS')).toBe('GOTRUE_SMTP_PASS=******** # env')
    expect(line('GOTRUE_JWT_SECRET')).toBe('GOTRUE_JWT_SECRET=******** # env')
    expect(line('GOTRUE_DB_DATABASE_URL')).toBe('GOTRUE_DB_DATABASE_URL=mysql://gotrue:****@db.internal:3306/gotrue # env (DATABASE_URL)')
    expect(line('GOTRUE_API_PORT')).toBe('GOTRUE_API_PORT=9000 # env (PORT)')
    expect(line('GOTRUE_SMTP_HOST')).toBe('GOTRUE_SMTP_HOST= # default')
    expect(line('GOTRUE_BCRYPT_COST')).toBe('GOTRUE_BCRYPT_COST=10 # default')
    for (const secret of ['smtp-password-from', 'db-password-9', 'jwt-secret-from']) expect(r.out + r.err).not.toContain(secret)
    expect(r.out.split('\n').filter(Boolean).length).toBe(describeConfig().length)
  })

  test('a MySQL that cannot be reached: the error names DATABASE_URL and the host, never the password', async () => {
    const closed = Bun.serve({ port: 0, fetch: () => new Response() })
    const port = closed.port as number
    closed.stop(true)
    const r = cli(['migrate'], { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: `mysql://gotrue:hunter2-secret@127.0.0.1:${port}/gotrue`, GOTRUE_JWT_SECRET: 'x'.repeat(32) })
    expect(r.code).toBe(1)
    expect(r.err.trim()).toStartWith(`gotrue: DATABASE_URL: cannot connect to MySQL at 127.0.0.1:${port}: `)
    expect(r.err).not.toContain('hunter2-secret')
    const bad = cli(['migrate'], { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: 'gotrue:hunter2-secret@tcp(db.internal:3306)', GOTRUE_JWT_SECRET: 'x'.repeat(32) })
    expect(bad.code).toBe(1)
    expect(bad.err.trim()).toBe('gotrue: DATABASE_URL: expected a database name after "/" (gotrue:****@tcp(db.internal:3306))')
  })
})
