// The four mails (spec §6): subjects, links, URL paths, site templates fetched over HTTP or read from a file,
// the outbox folder when no SMTP host is set, and SMTP AUTH.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { body, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'
import { loggedInUser, login, newUser, OPERATOR, PASSWORD } from './helpers.ts'

const signup = (s: TestServer, email: string, data?: Record<string, unknown>) =>
  s.req('/signup', { method: 'POST', json: { email, password: PASSWORD, data } })

describe('default mails', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer() })
  afterAll(async () => { await s.stop() })

  test('confirmation: subject, sender, HTML body and a link on SITE_URL', async () => {
    expect((await signup(s, 'c@example.com')).status).toBe(200)
    const mail = await s.smtp.waitForMail('c@example.com')
    expect(mail.subject).toBe('Confirm Your Signup')
    expect(mail.from).toBe('admin@example.com')
    expect(mail.headers['content-type']).toContain('text/html')
    expect(mail.html).toContain('<h2>Confirm your signup</h2>')
    expect(mail.html).toMatch(/href="https:\/\/example\.netlify\.com\/#confirmation_token=[A-Za-z0-9_-]{43}"/)
  })

  test('invite', async () => {
    const res = await s.req('/invite', { method: 'POST', json: { email: 'i@example.com' }, headers: OPERATOR })
    expect(res.status).toBe(200)
    const mail = await s.smtp.waitForMail('i@example.com')
    expect(mail.subject).toBe('You have been invited')
    expect(mail.html).toContain('https://example.netlify.com/#invite_token=')
    expect(mail.html).toContain('https://example.netlify.com') // the invite names the site
  })

  test('recovery (POST /recover)', async () => {
    await newUser(s, { email: 'r@example.com' })
    expect((await s.req('/recover', { method: 'POST', json: { email: 'r@example.com' } })).status).toBe(200)
    const mail = await s.smtp.waitForMail('r@example.com', { count: 2 })
    expect(mail.subject).toBe('Reset Your Password')
    expect(mail.html).toContain('https://example.netlify.com/#recovery_token=')
  })

  test('email change (PUT /user {email}) goes to the new address', async () => {
    const jwt = (await loggedInUser(s, { email: 'old@example.com' })).token
    const res = await s.req('/user', { method: 'PUT', json: { email: 'new@example.com' }, headers: { authorization: `Bearer ${jwt}` } })
    expect(res.status).toBe(200)
    const mail = await s.smtp.waitForMail('new@example.com')
    expect(mail.subject).toBe('Confirm Email Change')
    expect(mail.html).toContain('https://example.netlify.com/#email_change_token=')
    expect(mail.html).toContain('old@example.com')
    expect(s.smtp.mailsTo('old@example.com')).toHaveLength(1) // only the signup confirmation
  })

  test('values in the default template are HTML-escaped', async () => {
    const jwt = (await loggedInUser(s, { email: "o'hara@example.com" })).token
    await s.req('/user', { method: 'PUT', json: { email: 'oh@example.com' }, headers: { authorization: `Bearer ${jwt}` } })
    const mail = await s.smtp.waitForMail('oh@example.com')
    expect(mail.html).not.toContain("o'hara@example.com")
    expect(mail.html).toContain('o&#39;hara@example.com')
  })
})

describe('URL paths and subjects from config', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: {
      GOTRUE_MAILER_URLPATHS_CONFIRMATION: '/verify',
      GOTRUE_MAILER_SUBJECTS_CONFIRMATION: 'Welcome {{ .Email }} to {{ .SiteURL }}',
    } })
  })
  afterAll(async () => { await s.stop() })

  test('the link uses MAILER_URLPATHS_CONFIRMATION and the subject is a template', async () => {
    expect((await signup(s, 'p@example.com')).status).toBe(200)
    const mail = await s.smtp.waitForMail('p@example.com')
    expect(mail.subject).toBe('Welcome p@example.com to https://example.netlify.com')
    expect(mail.html).toContain('https://example.netlify.com/verify#confirmation_token=')
    const token = tokenFromMail(mail, 'confirmation_token')
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).toBe(200)
  })
})

// The site that serves templates: a real HTTP server, answering 500 for the confirmation template until told not to.
const requested: string[] = []
let confirmationBroken = true
const CONFIRMATION_TPL = '<p>Hello {{ .Email }} ({{ .Data.name }})</p><a href="{{ .ConfirmationURL }}">go</a>' +
  '<pre><%= 6 * 7 %> <% throw new Error("executed") %></pre>'
const site = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  fetch(req) {
    const path = new URL(req.url).pathname
    requested.push(path)
    if (path === '/tpl/confirmation.html') {
      return confirmationBroken ? new Response('oops', { status: 500 }) : new Response(CONFIRMATION_TPL)
    }
    if (path === '/tpl/invite.html') return new Response('<b>Join {{ .SiteURL }}: {{ .ConfirmationURL }}</b>')
    return new Response('not found', { status: 404 })
  },
})
const siteUrl = `http://127.0.0.1:${site.port}`
const dir = mkdtempSync(join(tmpdir(), 'mail-tpl-'))
const recoveryFile = join(dir, 'recovery.html')
writeFileSync(recoveryFile, '<i>Reset for {{ .Email }} at {{.ConfirmationURL}}</i>')
afterAll(() => { site.stop(true); rmSync(dir, { recursive: true, force: true }) })

describe('site templates (MAILER_TEMPLATES_*)', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: {
      GOTRUE_SITE_URL: siteUrl,
      GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true', // the template site is on loopback
      GOTRUE_MAILER_TEMPLATES_CONFIRMATION: '/tpl/confirmation.html',
      // A full URL: its host is replaced by SITE_URL's, as in GoTrue.
      GOTRUE_MAILER_TEMPLATES_INVITE: 'https://elsewhere.example.org/tpl/invite.html',
      GOTRUE_MAILER_TEMPLATES_RECOVERY: `file:${recoveryFile}`,
      GOTRUE_MAILER_TEMPLATES_DIR: dir,
    } })
  })
  afterAll(async () => { await s.stop() })

  test('a template site answering 500: the default template is used and signup still succeeds', async () => {
    expect((await signup(s, 'broken@example.com')).status).toBe(200)
    const mail = await s.smtp.waitForMail('broken@example.com')
    expect(requested).toContain('/tpl/confirmation.html')
    expect(mail.subject).toBe('Confirm Your Signup')
    expect(mail.html).toContain('<h2>Confirm your signup</h2>')
    expect(mail.html).toContain(`${siteUrl}/#confirmation_token=`)
  })

  test('a fetched template gets the variables substituted, and its <% %> code is not run', async () => {
    confirmationBroken = false
    expect((await signup(s, 'tpl@example.com', { name: '<b>Al</b>' })).status).toBe(200)
    const mail = await s.smtp.waitForMail('tpl@example.com')
    const token = tokenFromMail(mail, 'confirmation_token')
    expect(mail.html.trimEnd()).toBe(
      '<p>Hello tpl@example.com (&#60;b&#62;Al&#60;/b&#62;)</p>' +
      `<a href="${siteUrl}/#confirmation_token=${token}">go</a>` +
      '<pre><%= 6 * 7 %> <% throw new Error("executed") %></pre>',
    )
    expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).toBe(200)
  })

  test('an absolute template URL is fetched from SITE_URL', async () => {
    const res = await s.req('/invite', { method: 'POST', json: { email: 'inv@example.com' }, headers: OPERATOR })
    expect(res.status).toBe(200)
    const mail = await s.smtp.waitForMail('inv@example.com')
    expect(requested).toContain('/tpl/invite.html')
    expect(mail.html.trimEnd()).toBe(`<b>Join ${siteUrl}: ${siteUrl}/#invite_token=${tokenFromMail(mail, 'invite_token')}</b>`)
  })

  test('a file: template', async () => {
    expect((await s.req('/recover', { method: 'POST', json: { email: 'tpl@example.com' } })).status).toBe(200)
    const mail = await s.smtp.waitForMail('tpl@example.com', { count: 2 })
    expect(mail.subject).toBe('Reset Your Password')
    expect(mail.html.trimEnd()).toBe(`<i>Reset for tpl@example.com at ${siteUrl}/#recovery_token=${tokenFromMail(mail, 'recovery_token')}</i>`)
  })
})

describe('file: templates are read only from GOTRUE_MAILER_TEMPLATES_DIR', () => {
  // A secret beside the templates folder, and four ways to reach it (or to exhaust memory) from a file: template.
  const root = mkdtempSync(join(tmpdir(), 'mail-dir-'))
  const tplDir = join(root, 'templates')
  mkdirSync(tplDir)
  writeFileSync(join(root, 'secret.txt'), 'SERVER-SIDE-SECRET')
  symlinkSync(join(root, 'secret.txt'), join(tplDir, 'link.html'))
  writeFileSync(join(tplDir, 'big.html'), 'x'.repeat(300 * 1024))
  writeFileSync(join(tplDir, 'ok.html'), '<u>Welcome {{ .Email }}</u>')
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: {
      GOTRUE_MAILER_TEMPLATES_DIR: tplDir,
      GOTRUE_MAILER_TEMPLATES_RECOVERY: 'file:../secret.txt',
      GOTRUE_MAILER_TEMPLATES_CONFIRMATION: 'file:link.html',
      GOTRUE_MAILER_TEMPLATES_INVITE: `file://${join(root, 'secret.txt')}`,
      GOTRUE_MAILER_TEMPLATES_EMAIL_CHANGE: 'file:big.html',
    } })
  })
  afterAll(async () => { await s.stop(); rmSync(root, { recursive: true, force: true }) })

  test('.., a symlink out, an absolute path outside, and a file over 256 KiB: the default template, nothing read', async () => {
    const jwt = (await loggedInUser(s, { email: 'esc@example.com' })).token // confirmation through link.html
    const confirmation = s.smtp.mailsTo('esc@example.com')[0]
    expect(confirmation?.html).toContain('<h2>Confirm your signup</h2>')
    expect((await s.req('/recover', { method: 'POST', json: { email: 'esc@example.com' } })).status).toBe(200)
    const recovery = await s.smtp.waitForMail('esc@example.com', { count: 2 })
    expect(recovery.html).toContain('<h2>Reset password</h2>')
    expect((await s.req('/invite', { method: 'POST', json: { email: 'esc-i@example.com' }, headers: OPERATOR })).status).toBe(200)
    expect((await s.smtp.waitForMail('esc-i@example.com')).html).toContain('<h2>You have been invited</h2>')
    expect((await s.req('/user', { method: 'PUT', json: { email: 'esc-new@example.com' }, headers: { authorization: `Bearer ${jwt}` } })).status).toBe(200)
    expect((await s.smtp.waitForMail('esc-new@example.com')).html).toContain('<h2>Confirm email address change</h2>')
    for (const m of s.smtp.mails) expect(m.html).not.toContain('SERVER-SIDE-SECRET')
  })

  test('a file inside the folder is read (by name, relative to the folder)', async () => {
    const s2 = await startServer({ env: { GOTRUE_MAILER_TEMPLATES_DIR: tplDir, GOTRUE_MAILER_TEMPLATES_CONFIRMATION: 'file:ok.html' } })
    try {
      expect((await signup(s2, 'ok@example.com')).status).toBe(200)
      expect((await s2.smtp.waitForMail('ok@example.com')).html.trimEnd()).toBe('<u>Welcome ok@example.com</u>')
    } finally { await s2.stop() }
  })
})

describe('site templates on a local address without GOTRUE_WEBHOOK_ALLOW_LOCAL', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_SITE_URL: siteUrl, GOTRUE_MAILER_TEMPLATES_INVITE: '/tpl/invite.html' } })
  })
  afterAll(async () => { await s.stop() })

  test('are not fetched (SSRF guard): the default template is used', async () => {
    requested.length = 0
    const res = await s.req('/invite', { method: 'POST', json: { email: 'local@example.com' }, headers: OPERATOR })
    expect(res.status).toBe(200)
    const mail = await s.smtp.waitForMail('local@example.com')
    expect(requested).toEqual([])
    expect(mail.html).toContain('<h2>You have been invited</h2>')
  })
})

describe('no SMTP host: the outbox folder', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ smtp: false }) })
  afterAll(async () => { await s.stop() })

  test('signup succeeds and the confirmation mail is written as a .eml file', async () => {
    const outbox = s.deps.config.smtp.outbox_dir
    const res = await signup(s, 'quick@example.com')
    expect(res.status).toBe(200)
    const files = readdirSync(outbox).filter((f) => f.endsWith('.eml'))
    expect(files).toHaveLength(1)
    const mail = await simpleParser(readFileSync(join(outbox, files[0] as string)))
    expect(mail.subject).toBe('Confirm Your Signup')
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.text : '').toBe('quick@example.com')
    const token = /#confirmation_token=([A-Za-z0-9_-]+)/.exec(typeof mail.html === 'string' ? mail.html : '')?.[1] ?? ''
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    // a readable .html copy of the body sits beside it (what the README's quick start greps)
    const html = readFileSync(join(outbox, (files[0] as string).replace(/\.eml$/, '.html')), 'utf8')
    expect(html).toContain(`#confirmation_token=${token}`)
    const t = await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })
    expect(t.status).toBe(200)
    expect((await login(s, 'quick@example.com')).status).toBe(200)
  })
})

describe('SMTP with AUTH', () => {
  let s: TestServer
  let authed: SmtpCapture
  beforeAll(async () => {
    authed = await startSmtpCapture({ user: 'mailer', pass: 's3cret' })
    s = await startServer({ env: {
      GOTRUE_SMTP_HOST: authed.host, GOTRUE_SMTP_PORT: String(authed.port), GOTRUE_SMTP_USER: 'mailer', GOTRUE_SMTP_PASS: 's3cret',
    } })
  })
  afterAll(async () => { await s.stop(); await authed.stop() })

  test('the mail is delivered through an authenticating server', async () => {
    expect((await signup(s, 'auth@example.com')).status).toBe(200)
    const mail = await authed.waitForMail('auth@example.com')
    expect(mail.subject).toBe('Confirm Your Signup')
    expect(tokenFromMail(mail, 'confirmation_token')).toBeTruthy()
    expect(s.smtp.mails).toHaveLength(0) // the harness's own capture got nothing
  })
})
