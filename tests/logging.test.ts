// Logs as an operator reads them: GOTRUE_LOG_FILE receives JSON lines; every request leaves exactly one
// `request completed` line carrying the response's X-Request-Id; a 5xx is logged at error under the id the
// client sees as error_id; and nothing secret (tokens, passwords, hashes, Authorization values) ever reaches
// the file, nor any email address at info level and above.
//
// These servers are booted through boot() without an injected logger, so the logger is built from the
// configuration exactly as `gotrue serve` builds it (the harness injects its own stderr logger, which ignores
// GOTRUE_LOG_FILE).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { boot, type Booted } from '../bin/serve.ts'
import { type Env, loadConfig } from '../lib/config.ts'
import { type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'
import { body, dropNamespace, form, MYSQL_URL, TEST_ENV, tokenFromMail } from './harness.ts'

const OPERATOR = 'operator-token-for-tests'
const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+/

interface Logged { booted: Booted; smtp: SmtpCapture; file: string; dir: string; namespace: string }

async function startLogged(env: Env): Promise<Logged> {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-log-'))
  const namespace = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
  const smtp = await startSmtpCapture()
  const file = join(dir, 'gotrue.log')
  const config = loadConfig({
    cwd: dir,
    env: {
      ...TEST_ENV,
      ...(MYSQL_URL
        ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: namespace }
        : { GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db') }),
      GOTRUE_SMTP_HOST: smtp.host, GOTRUE_SMTP_PORT: String(smtp.port), GOTRUE_SMTP_ADMIN_EMAIL: 'admin@example.com',
      GOTRUE_LOG_FILE: file,
      ...env,
    },
  })
  const booted = await boot(config, { port: 0, automigrate: true })
  return { booted, smtp, file, dir, namespace }
}

async function stopLogged(l: Logged): Promise<void> {
  const { db } = l.booted.deps
  await dropNamespace(db, l.namespace)
  await l.booted.stop()
  await l.smtp.stop()
  rmSync(l.dir, { recursive: true, force: true })
}

interface Sent { id: string; method: string; path: string; status: number; errorId?: string }
interface Run { sent: Sent[]; secrets: Record<string, string>; emails: string[] }

/** The account life cycle of a GoTrue site, recording every request, every secret and every address used. */
async function scenario(l: Logged, customIds: boolean): Promise<Run> {
  const sent: Sent[] = []
  const secrets: Record<string, string> = {}
  const tag = crypto.randomUUID().slice(0, 8)
  const email = `ada.${tag}@example.org`
  const invitee = `grace.${tag}@example.net`
  const unlucky = `babbage.${tag}@example.com`
  /** `pattern`: what the access line must show for a route with parameters (never the raw path). */
  const call = async (path: string, init: RequestInit & { json?: unknown } = {}, pattern?: string) => {
    const { json, ...rest } = init
    const headers = new Headers(rest.headers)
    if (json !== undefined) headers.set('content-type', 'application/json')
    if (customIds) headers.set('x-request-id', `ext-${tag}-${sent.length}`)
    const res = await fetch(l.booted.url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body })
    const id = res.headers.get('x-request-id') ?? ''
    if (customIds) expect(id).toBe(`ext-${tag}-${sent.length}`)
    const b = res.status === 204 ? {} : await body(res)
    sent.push({ id, method: rest.method ?? 'GET', path: pattern ?? path.split('?')[0] as string, status: res.status, errorId: b.error_id as string | undefined })
    return { status: res.status, b }
  }

  secrets.password = 'correct horse battery'
  const signup = await call('/signup', { method: 'POST', json: { email, password: secrets.password, data: { full_name: 'Ada Lovelace' } } })
  expect(signup.status).toBe(200)
  secrets.confirmation = tokenFromMail(await l.smtp.waitForMail(email), 'confirmation_token')
  const verified = await call('/verify', { method: 'POST', json: { type: 'signup', token: secrets.confirmation } })
  expect(verified.status).toBe(200)
  secrets.access1 = verified.b.access_token as string
  secrets.refresh1 = verified.b.refresh_token as string

  const login = await call('/token', form({ grant_type: 'password', username: email, password: secrets.password }))
  expect(login.status).toBe(200)
  secrets.access2 = login.b.access_token as string
  secrets.refresh2 = login.b.refresh_token as string
  const refreshed = await call('/token', form({ grant_type: 'refresh_token', refresh_token: secrets.refresh2 }))
  expect(refreshed.status).toBe(200)
  secrets.access3 = refreshed.b.access_token as string
  secrets.refresh3 = refreshed.b.refresh_token as string
  secrets.wrongPassword = 'not-the-password-at-all'
  const failed = await call('/token', form({ grant_type: 'password', username: email, password: secrets.wrongPassword }))
  expect(failed.status).toBe(400)
  // /token also reads its fields from the query string: the logged path must not carry them.
  secrets.queryPassword = 'wrong-password-in-the-query'
  const inQuery = new URLSearchParams({ grant_type: 'password', username: email, password: secrets.queryPassword })
  expect((await call(`/token?${inQuery}`, { method: 'POST' })).status).toBe(400)

  expect((await call('/recover', { method: 'POST', json: { email } })).status).toBe(200)
  secrets.recovery = tokenFromMail(await l.smtp.waitForMail(email, { count: 2 }), 'recovery_token')
  const recovered = await call('/verify', { method: 'POST', json: { type: 'recovery', token: secrets.recovery } })
  expect(recovered.status).toBe(200)
  secrets.access4 = recovered.b.access_token as string

  secrets.newPassword = 'a brand new passphrase'
  const changed = await call('/user', { method: 'PUT', headers: { authorization: `Bearer ${secrets.access4}` }, json: { password: secrets.newPassword } })
  expect(changed.status).toBe(200)
  const row = await l.booted.deps.db.get<{ encrypted_password: string }>('SELECT encrypted_password FROM {users} WHERE email = ?', [email])
  secrets.hash = row?.encrypted_password ?? 'missing hash'
  expect(secrets.hash).toStartWith('$2')

  const invited = await call('/invite', { method: 'POST', headers: { authorization: `Bearer ${OPERATOR}` }, json: { email: invitee } })
  expect(invited.status).toBe(200)
  secrets.invite = tokenFromMail(await l.smtp.waitForMail(invitee), 'invite_token')
  secrets.operator = OPERATOR
  // Routes with a parameter: the access line shows the pattern and the status, never the id-bearing path.
  const admin = { authorization: `Bearer ${OPERATOR}` }
  const inviteeId = invited.b.id as string
  expect((await call(`/admin/users/${inviteeId}`, { headers: admin }, '/admin/users/:user_id')).status).toBe(200)
  expect((await call(`/admin/users/${crypto.randomUUID()}`, { method: 'DELETE', headers: admin }, '/admin/users/:user_id')).status).toBe(404)
  secrets.inviteeId = inviteeId

  // Statuses set by a returned Response or by the body cap are logged as sent: 204 and 413.
  // (access4's session: the password change above may end the others)
  expect((await call('/logout', { method: 'POST', headers: { authorization: `Bearer ${secrets.access4}` } })).status).toBe(204)
  const huge = JSON.stringify({ email, password: secrets.password, data: { pad: 'x'.repeat(1024 * 1024) } })
  expect((await call('/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge })).status).toBe(413)

  // A 5xx: the SMTP server refuses the next confirmation mail.
  l.smtp.failNext()
  const broken = await call('/signup', { method: 'POST', json: { email: unlucky, password: secrets.password } })
  expect(broken.status).toBe(500)
  expect(broken.b.error_id).toBe(sent.at(-1)?.id as string)
  return { sent, secrets, emails: [email, invitee, unlucky] }
}

type Line = Record<string, unknown> & { level: string; time: string; msg: string }

/** Every line of the file, each checked to be one JSON object with level, time and msg. Waits (bounded) until
 *  `until` holds, because the access line is written after the response has gone out. */
async function readLog(file: string, until: (lines: Line[]) => boolean): Promise<{ raw: string; lines: Line[] }> {
  const deadline = Date.now() + 3000
  for (;;) {
    const raw = existsSync(file) ? readFileSync(file, 'utf8') : ''
    const lines = raw.split('\n').filter((l) => l !== '').map((text) => {
      const entry = JSON.parse(text) as Line
      expect(typeof entry.level).toBe('string')
      expect(typeof entry.msg).toBe('string')
      expect(Number.isNaN(Date.parse(entry.time))).toBe(false)
      return entry
    })
    if (until(lines) || Date.now() > deadline) return { raw, lines }
    await Bun.sleep(20)
  }
}

const accessLines = (lines: Line[]) => lines.filter((l) => l.msg === 'request completed')
const SEVERITY = ['panic', 'fatal', 'error', 'warn', 'info', 'debug', 'trace']

function expectNoSecrets(raw: string, secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) {
    expect(value.length).toBeGreaterThan(8)
    expect({ secret: name, leaked: raw.includes(value) }).toEqual({ secret: name, leaked: false })
  }
}

function expectAccessLines(lines: Line[], sent: Sent[]): void {
  const access = accessLines(lines)
  expect(access.length).toBe(sent.length)
  for (const s of sent) {
    const mine = access.filter((l) => l.request_id === s.id)
    expect(mine.length).toBe(1)
    const [line] = mine as [Line]
    expect(line.level).toBe('info')
    expect({ method: line.method, path: line.path, status: line.status }).toEqual({ method: s.method, path: s.path, status: s.status })
    expect(typeof line.duration_ms).toBe('number')
    expect(line.duration_ms as number).toBeGreaterThanOrEqual(0)
  }
}

function expectFiveHundredLogged(lines: Line[], sent: Sent[]): void {
  const fivexx = sent.filter((s) => s.status >= 500)
  expect(fivexx.length).toBe(1)
  for (const s of fivexx) {
    expect(s.errorId).toBe(s.id)
    const errors = lines.filter((l) => l.level === 'error' && l.request_id === s.errorId)
    expect(errors.length).toBeGreaterThanOrEqual(1)
  }
}

describe('GOTRUE_LOG_LEVEL=info with GOTRUE_API_REQUEST_ID_HEADER', () => {
  let l: Logged
  let run: Run
  let log: { raw: string; lines: Line[] }
  beforeAll(async () => {
    l = await startLogged({ GOTRUE_LOG_LEVEL: 'info', GOTRUE_API_REQUEST_ID_HEADER: 'X-Request-Id' })
    run = await scenario(l, true)
    log = await readLog(l.file, (lines) => accessLines(lines).length >= run.sent.length)
  })
  afterAll(() => stopLogged(l))

  test('one access line per request, with the inherited request id, method, path, status and duration', () => {
    expect(run.sent.every((s) => s.id.startsWith('ext-'))).toBe(true)
    expectAccessLines(log.lines, run.sent)
  })

  test('nothing at debug level, and the 5xx is logged at error under its error_id', () => {
    expect(log.lines.every((line) => SEVERITY.indexOf(line.level) >= 0 && SEVERITY.indexOf(line.level) <= SEVERITY.indexOf('info'))).toBe(true)
    expectFiveHundredLogged(log.lines, run.sent)
  })

  test('no token, password, hash or Authorization value; no email address', () => {
    expectNoSecrets(log.raw, run.secrets)
    for (const e of run.emails) expect(log.raw).not.toContain(e)
    expect(log.lines.filter((line) => EMAIL_RE.test(JSON.stringify(line)))).toEqual([])
  })
})

describe('GOTRUE_LOG_LEVEL=debug', () => {
  let l: Logged
  let run: Run
  let log: { raw: string; lines: Line[] }
  beforeAll(async () => {
    l = await startLogged({ GOTRUE_LOG_LEVEL: 'debug' })
    run = await scenario(l, false)
    log = await readLog(l.file, (lines) => accessLines(lines).length >= run.sent.length)
  })
  afterAll(() => stopLogged(l))

  test('fresh request ids (UUIDs) on every access line; known levels only (debug lines allowed)', () => {
    for (const s of run.sent) expect(s.id).toMatch(/^[0-9a-f-]{36}$/)
    expectAccessLines(log.lines, run.sent)
    expect(log.lines.every((line) => SEVERITY.includes(line.level) && line.level !== 'trace')).toBe(true)
    expectFiveHundredLogged(log.lines, run.sent)
  })

  test('even at debug: no token, password, hash or Authorization value', () => {
    expectNoSecrets(log.raw, run.secrets)
  })
})

describe('GOTRUE_LOG_LEVEL=error', () => {
  let l: Logged
  let run: Run
  let log: { raw: string; lines: Line[] }
  beforeAll(async () => {
    l = await startLogged({ GOTRUE_LOG_LEVEL: 'error' })
    run = await scenario(l, false)
    log = await readLog(l.file, (lines) => lines.some((line) => line.level === 'error'))
  })
  afterAll(() => stopLogged(l))

  test('only error lines (no access lines), the 5xx among them under its error_id', () => {
    expect(log.lines.length).toBeGreaterThan(0)
    expect(log.lines.filter((line) => !['panic', 'fatal', 'error'].includes(line.level))).toEqual([])
    expect(accessLines(log.lines)).toEqual([])
    expectFiveHundredLogged(log.lines, run.sent)
  })

  test('no secret and no email address in the error lines', () => {
    expectNoSecrets(log.raw, run.secrets)
    expect(log.lines.filter((line) => EMAIL_RE.test(JSON.stringify(line)))).toEqual([])
  })
})

/** A mail server that refuses every recipient the way Postfix does, echoing the address in its reply. */
function startRejectingSmtp(): { port: number; stop(): void } {
  const server = Bun.listen<{ buf: string }>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(sock) { sock.data = { buf: '' }; sock.write('220 reject.test ESMTP\r\n') },
      data(sock, chunk) {
        sock.data.buf += chunk.toString()
        let nl = sock.data.buf.indexOf('\r\n')
        while (nl >= 0) {
          const line = sock.data.buf.slice(0, nl)
          sock.data.buf = sock.data.buf.slice(nl + 2)
          const verb = line.slice(0, 4).toUpperCase()
          if (verb === 'EHLO' || verb === 'HELO') sock.write('250 reject.test\r\n')
          else if (verb === 'MAIL' || verb === 'RSET' || verb === 'NOOP') sock.write('250 2.1.0 Ok\r\n')
          else if (verb === 'RCPT') sock.write(`550 5.1.1 ${/<[^>]*>/.exec(line)?.[0] ?? '<>'}: Recipient address rejected: User unknown\r\n`)
          else if (verb === 'QUIT') { sock.write('221 2.0.0 Bye\r\n'); sock.end() }
          else sock.write('502 5.5.2 Error: command not recognized\r\n')
          nl = sock.data.buf.indexOf('\r\n')
        }
      },
    },
  })
  return { port: server.port, stop: () => server.stop(true) }
}

describe('an error whose cause names the address (SMTP 550 for the recipient), at info level', () => {
  let l: Logged
  let smtp: { port: number; stop(): void }
  beforeAll(async () => {
    smtp = startRejectingSmtp()
    l = await startLogged({ GOTRUE_LOG_LEVEL: 'info', GOTRUE_SMTP_PORT: String(smtp.port) })
  })
  afterAll(async () => {
    await stopLogged(l)
    smtp.stop()
  })

  test('the 500 is logged at error under its error_id, without the email address', async () => {
    const email = `rejected.${crypto.randomUUID().slice(0, 8)}@example.org`
    const res = await fetch(`${l.booted.url}/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'rejected-password' }),
    })
    expect(res.status).toBe(500)
    const b = await body(res)
    expect(b).toEqual({ code: 500, msg: 'Error sending confirmation mail', error_id: res.headers.get('x-request-id') as string })
    const log = await readLog(l.file, (lines) => accessLines(lines).some((line) => line.request_id === b.error_id))
    const errors = log.lines.filter((line) => line.level === 'error' && line.request_id === b.error_id)
    expect(errors.length).toBe(1)
    expect(String(errors[0]?.error)).toContain('Recipient address rejected') // the cause is kept …
    expect(log.raw).not.toContain(email) // … without the address
    expect(log.lines.filter((line) => EMAIL_RE.test(JSON.stringify(line)))).toEqual([])
  })
})
