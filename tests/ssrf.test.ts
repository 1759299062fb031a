// The SSRF guard (lib/ssrf.ts) for the URLs a site's settings control: which addresses count as local, every
// spelling of loopback a site_url can use for its mail templates (through a real server and a template site that
// listens on every interface, so a guard that let one through would show up as a request), redirects, and the
// pinned connection. Webhooks use the same guard: tests/webhooks.test.ts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { isPrivateAddress } from '../lib/ssrf.ts'
import { signHS256 } from '../lib/jwt.ts'
import { type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'
import { body, startServer, type TestServer } from './harness.ts'
import { OPERATOR, PASSWORD } from './helpers.ts'

describe('which resolved addresses count as local', () => {
  test.each([
    // IPv4 special-purpose ranges
    '0.0.0.0', '0.1.2.3', '10.1.2.3', '100.64.0.1', '100.127.255.255', '127.0.0.1', '127.8.9.10', '169.254.169.254', '172.16.0.1',
    '172.31.255.255', '192.0.0.8', '192.0.2.1', '192.88.99.1', '192.168.0.1', '198.18.0.1', '198.19.255.255', '198.51.100.7',
    '203.0.113.9', '224.0.0.1', '240.0.0.1', '255.255.255.255',
    // IPv6 outside global unicast
    '::', '::1', '0:0:0:0:0:0:0:1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'fe80::1%eth0', 'fec0::1', 'ff02::1', '100::1',
    '2001:db8::1', '3fff::1',
    // IPv4 inside IPv6: mapped (every spelling), IPv4-compatible, SIIT, NAT64, 6to4, Teredo
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:A9FE:A9FE', '0:0:0:0:0:ffff:7f00:1', '::ffff:10.0.0.1',
    '::127.0.0.1', '::7f00:1', '::8.8.8.8', '::ffff:0:127.0.0.1', '::ffff:0:7f00:1', '::ffff:0:a00:1',
    '64:ff9b::127.0.0.1', '64:ff9b::7f00:1', '64:ff9b::a9fe:a9fe', '64:ff9b::c612:1', '64:ff9b:1::8.8.8.8', '64:ff9b:1:abcd::1',
    '2002:7f00:1::', '2002:a00:1::1', '2002:c0a8:101::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '2001::1',
    // garbage is never "public"
    'not-an-ip', '1.2.3', '::ffff:999.1.1.1', '1:2:3:4:5:6:7:8:9',
  ])('%s is refused', (ip) => expect(isPrivateAddress(ip)).toBe(true))
  test.each([
    '8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1', '192.169.0.1', '198.17.255.255', '198.20.0.1',
    '2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:808:808', '::ffff:8.8.8.8', '64:ff9b::808:808', '64:ff9b::8.8.8.8',
    '2002:808:808::1',
  ])('%s is allowed', (ip) => expect(isPrivateAddress(ip)).toBe(false))
})

// The template site: every interface, IPv4 and IPv6, so each loopback spelling would reach it.
const requested: string[] = []
const tplSite = Bun.serve({
  port: 0,
  hostname: '::',
  fetch(req) {
    const path = new URL(req.url).pathname
    requested.push(`${req.headers.get('host')} ${path}`)
    if (path === '/tpl/confirmation.html') return new Response('<p>FROM THE TEMPLATE SITE {{ .ConfirmationURL }}</p>')
    if (path === '/tpl/redirect.html') return new Response(null, { status: 302, headers: { location: '/tpl/secret.html' } })
    if (path === '/tpl/secret.html') return new Response('<p>SECRET {{ .ConfirmationURL }}</p>')
    return new Response('not found', { status: 404 })
  },
})
afterAll(() => { tplSite.stop(true) })
const PORT = tplSite.port

const MULTI = { GOTRUE_MULTIINSTANCEMODE: 'true', GOTRUE_DB_ENCRYPTION_KEY: 'encryption-key-for-instance-secrets-in-tests' }
async function siteWith(s: TestServer, smtp: SmtpCapture, siteUrl: string, template: string): Promise<string> {
  const res = await s.req('/instances', {
    method: 'POST', headers: OPERATOR,
    json: { uuid: crypto.randomUUID(), config: {
      site_url: siteUrl, jwt: { secret: 'jwt-secret-of-the-ssrf-site-long-enough' },
      smtp: { host: smtp.host, port: smtp.port, admin_email: 'identity@example.org' }, mailer: { templates: { confirmation: template } },
    } },
  })
  expect(res.status).toBe(201)
  return (await body(res)).id as string
}
const signupOn = async (s: TestServer, id: string, email: string) => s.req('/signup', {
  method: 'POST', json: { email, password: PASSWORD },
  headers: { 'x-nf-sign': await signHS256({ id }, 'operator-token-for-tests', undefined) },
})

describe('a site\'s mail template on a local address, in any spelling, is not fetched', () => {
  let s: TestServer
  let smtp: SmtpCapture
  beforeAll(async () => { smtp = await startSmtpCapture(); s = await startServer({ env: MULTI }) })
  afterAll(async () => { await s.stop(); await smtp.stop() })

  test.each([
    'http://127.0.0.1', 'http://2130706433', 'http://0x7f.1', 'http://0177.0.0.1', 'http://127.1', 'http://0x7f000001',
    'http://localhost', 'http://[::1]', 'http://[::ffff:127.0.0.1]', 'http://[::ffff:7f00:1]', 'http://[0:0:0:0:0:ffff:7f00:1]',
    'http://[::127.0.0.1]', 'http://0.0.0.0', 'http://0',
  ])('site_url %s: the default template is mailed, the template site hears nothing', async (origin) => {
    requested.length = 0
    const email = `u${crypto.randomUUID().slice(0, 8)}@example.com`
    const id = await siteWith(s, smtp, `${origin}:${PORT}`, '/tpl/confirmation.html')
    expect((await signupOn(s, id, email)).status).toBe(200)
    const mail = await smtp.waitForMail(email)
    expect(mail.html).toContain('<h2>Confirm your signup</h2>')
    expect(requested).toEqual([])
  })
})

describe('with GOTRUE_WEBHOOK_ALLOW_LOCAL=true (the template site is local)', () => {
  let s: TestServer
  let smtp: SmtpCapture
  beforeAll(async () => { smtp = await startSmtpCapture(); s = await startServer({ env: { ...MULTI, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true' } }) })
  afterAll(async () => { await s.stop(); await smtp.stop() })

  test('a redirect is not followed: the default template is mailed, the redirect target is never asked', async () => {
    requested.length = 0
    const id = await siteWith(s, smtp, `http://127.0.0.1:${PORT}`, '/tpl/redirect.html')
    expect((await signupOn(s, id, 'redirected@example.com')).status).toBe(200)
    const mail = await smtp.waitForMail('redirected@example.com')
    expect(mail.html).toContain('<h2>Confirm your signup</h2>')
    expect(mail.html).not.toContain('SECRET')
    expect(requested).toEqual([`127.0.0.1:${PORT} /tpl/redirect.html`])
  })

  test('a name is resolved once and the connection goes to its address, with the name kept as Host', async () => {
    requested.length = 0
    const id = await siteWith(s, smtp, `http://localhost:${PORT}`, '/tpl/confirmation.html')
    expect((await signupOn(s, id, 'named@example.com')).status).toBe(200)
    const mail = await smtp.waitForMail('named@example.com')
    expect(mail.html).toContain('FROM THE TEMPLATE SITE http://localhost:')
    expect(requested).toEqual([`localhost:${PORT} /tpl/confirmation.html`])
  })
})
