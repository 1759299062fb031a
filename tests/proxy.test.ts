// Behind a reverse proxy (GOTRUE_TRUSTED_PROXIES): the per-client rate limits key on the client the trusted
// proxy names (the right-most X-Forwarded-For entry that is not one of our proxies), and on the socket address
// for every other peer, whatever X-Forwarded-For it sends. Real peers: the "proxy" connects from 127.0.0.2 (all
// of 127/8 is loopback on Linux), a direct client from 127.0.0.1. Without any proxy setting, a request carrying
// X-Forwarded-For earns one warning in the log.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer, type TestServer } from './harness.ts'

const PROXY = '127.0.0.2'
const DIRECT = '127.0.0.1'

/** POST /verify (a bad token: 4xx, but counted by GOTRUE_RATE_LIMIT_VERIFY) from a given local address. */
function verifyFrom(s: TestServer, from: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const r = http.request({
      host: '127.0.0.1', port: Number(new URL(s.url).port), path: '/verify', method: 'POST', localAddress: from, agent: false,
      headers: { 'content-type': 'application/json', ...headers },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)) })
    r.on('error', reject)
    r.end(JSON.stringify({ type: 'signup', token: 'not-a-token' }))
  })
}
const xff = (v: string) => ({ 'x-forwarded-for': v })

describe('GOTRUE_TRUSTED_PROXIES=127.0.0.2/32,10.0.0.0/8 (verify limit 2 per client)', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_TRUSTED_PROXIES: `${PROXY}/32,10.0.0.0/8`, GOTRUE_RATE_LIMIT_VERIFY: '2' } }) })
  afterAll(() => s.stop())

  test('through the trusted proxy, each forwarded client has its own bucket; prepending addresses does not escape it', async () => {
    expect(await verifyFrom(s, PROXY, xff('198.51.100.7'))).not.toBe(429)
    expect(await verifyFrom(s, PROXY, xff('198.51.100.7'))).not.toBe(429)
    expect(await verifyFrom(s, PROXY, xff('198.51.100.7'))).toBe(429)
    // The client wrote the left part: the right-most entry our proxy appended still names 198.51.100.7.
    expect(await verifyFrom(s, PROXY, xff('203.0.113.99, 198.51.100.7'))).toBe(429)
    // Entries that are our own proxies (a second hop inside 10/8) are skipped from the right.
    expect(await verifyFrom(s, PROXY, xff('203.0.113.99, 198.51.100.7, 10.1.2.3'))).toBe(429)
    // Another client behind the same proxy is not affected.
    expect(await verifyFrom(s, PROXY, xff('198.51.100.8'))).not.toBe(429)
  })

  test('IPv6 clients named by the proxy are keyed by their /64', async () => {
    expect(await verifyFrom(s, PROXY, xff('2001:db8:1:2::1'))).not.toBe(429)
    expect(await verifyFrom(s, PROXY, xff('2001:db8:1:2::ffff'))).not.toBe(429)
    expect(await verifyFrom(s, PROXY, xff('2001:db8:1:2:aaaa::3'))).toBe(429)
    expect(await verifyFrom(s, PROXY, xff('2001:db8:1:3::1'))).not.toBe(429)
  })

  test('from an untrusted peer X-Forwarded-For is ignored: a new value per request still shares one bucket', async () => {
    expect(await verifyFrom(s, DIRECT, xff('192.0.2.1'))).not.toBe(429)
    expect(await verifyFrom(s, DIRECT, xff('192.0.2.2'))).not.toBe(429)
    expect(await verifyFrom(s, DIRECT, xff('192.0.2.3'))).toBe(429)
    expect(await verifyFrom(s, DIRECT)).toBe(429)
  })
})

describe('trusted proxies with GOTRUE_RATE_LIMIT_HEADER', () => {
  let s: TestServer
  beforeAll(async () => {
    s = await startServer({ env: { GOTRUE_TRUSTED_PROXIES: `${PROXY}/32`, GOTRUE_RATE_LIMIT_HEADER: 'X-Real-Client', GOTRUE_RATE_LIMIT_VERIFY: '1' } })
  })
  afterAll(() => s.stop())

  test('the configured header is read from the trusted proxy only; X-Forwarded-For is not', async () => {
    expect(await verifyFrom(s, PROXY, { 'x-real-client': '198.51.100.1', ...xff('192.0.2.1') })).not.toBe(429)
    expect(await verifyFrom(s, PROXY, { 'x-real-client': '198.51.100.1', ...xff('192.0.2.2') })).toBe(429)
    expect(await verifyFrom(s, PROXY, { 'x-real-client': '198.51.100.2', ...xff('192.0.2.1') })).not.toBe(429)
    // A direct client cannot pick its bucket with the header.
    expect(await verifyFrom(s, DIRECT, { 'x-real-client': '198.51.100.3' })).not.toBe(429)
    expect(await verifyFrom(s, DIRECT, { 'x-real-client': '198.51.100.4' })).toBe(429)
  })
})

describe('no proxy settings: a warning, once, for X-Forwarded-For; the limits stated at start', () => {
  let s: TestServer
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-proxy-'))
  const file = join(dir, 'gotrue.log')
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_LOG_LEVEL: 'info', GOTRUE_LOG_FILE: file, GOTRUE_RATE_LIMIT_VERIFY: '30' } }) })
  afterAll(async () => { await s.stop(); rmSync(dir, { recursive: true, force: true }) })
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
  const warnings = () => lines().filter((l) => l.level === 'warn' && String(l.msg).includes('X-Forwarded-For'))

  test('the start states what limits key on and how many requests they allow', () => {
    const start = lines().find((l) => l.msg === 'rate limits in effect')
    expect(start).toMatchObject({ level: 'info', client: 'socket address', verify: '30/5m per client', token: 'off', store: 'memory' })
  })

  test('no warning without the header; one warning however many requests carry it', async () => {
    await verifyFrom(s, DIRECT)
    expect(warnings()).toEqual([])
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) await verifyFrom(s, DIRECT, xff(ip))
    expect(warnings().length).toBe(1)
    expect(String(warnings()[0]?.msg)).toContain('GOTRUE_TRUSTED_PROXIES')
  })
})

test('a malformed GOTRUE_TRUSTED_PROXIES entry stops the start, naming the variable', async () => {
  for (const bad of ['10.0.0.0/33', 'not-an-ip', '10.0.0/8', 'fd00::/129']) {
    await expect(startServer({ env: { GOTRUE_TRUSTED_PROXIES: bad }, smtp: false })).rejects.toThrow('GOTRUE_TRUSTED_PROXIES')
  }
})
