// The accounts and requests most test files need before they get to their subject: a fresh address, the test
// password, a user made through signup (and its confirmation mail) or through the admin API, a login, a refresh.
// One copy here, so a change to the signup or login flow is made once for the whole suite. At the end, the
// server processes of the multi-node tests.
import type { Subprocess } from 'bun'
import { expect } from 'bun:test'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Env } from '../lib/config.ts'
import { body, DIALECT, form, type TestServer, tokenFromMail } from './harness.ts'
import type { CapturedMail } from './fakes/smtp.ts'

/** The password of every test user unless a test needs another one (at least GOTRUE_PASSWORD_MIN_LENGTH long). */
export const PASSWORD = 'correct-horse-battery'
/** The Authorization header of GOTRUE_OPERATOR_TOKEN as the harness sets it. */
export const OPERATOR = { authorization: 'Bearer operator-token-for-tests' }
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** The owner takes the account back by mail: a recovery link (the next mail `mailbox` receives for the address),
 *  then a password of their own set from the recovery session. */
export async function ownerRecovers(s: TestServer, mailbox: { count(to: string): number; waitForMail(to: string, count?: number): Promise<CapturedMail> }, email: string, ownerPassword: string): Promise<void> {
  const before = mailbox.count(email)
  expect((await s.req('/recover', { method: 'POST', json: { email } })).status).toBe(200)
  const token = tokenFromMail(await mailbox.waitForMail(email, before + 1), 'recovery_token')
  const v = await s.req('/verify', { method: 'POST', json: { type: 'recovery', token } })
  expect(v.status).toBe(200)
  const put = await s.req('/user', { method: 'PUT', headers: bearer(String((await body(v)).access_token)), json: { password: ownerPassword } })
  expect(put.status).toBe(200)
}

/** The token response of POST /token. */
export interface Tokens { access_token: string; refresh_token: string; token_type: string; expires_in: number }

let n = 0
/** An address no other test has used, in this run or an earlier one (Redis counters outlive a run). */
export const freshEmail = (tag = 'user') => `${tag}-${++n}-${crypto.randomUUID().slice(0, 8)}@example.com`

/** POST /token grant_type=password as a form; extra headers (X-JWT-AUD, X-Use-Cookie, a client address) merge in. */
export function login(s: TestServer, email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Response> {
  const init = form({ grant_type: 'password', username: email, password })
  return s.req('/token', { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } })
}

/** POST /token grant_type=refresh_token as a form. */
export function refresh(s: TestServer, token: string, headers: Record<string, string> = {}): Promise<Response> {
  const init = form({ grant_type: 'refresh_token', refresh_token: token })
  return s.req('/token', { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } })
}

export interface NewUserOptions {
  email?: string
  /** Names the address when `email` is not given, so a failing test shows whose user it was. */
  tag?: string
  password?: string
  data?: Record<string, unknown>
  /** Follow the confirmation mail when the server sends one (default true). */
  confirm?: boolean
}

/**
 * A user through POST /signup. Without autoconfirm the confirmation mail is awaited and, unless `confirm` is
 * false, its link verified. Each `session()` is another login, so another refresh-token family of the user.
 */
export async function newUser(s: TestServer, opts: NewUserOptions = {}) {
  const email = opts.email ?? freshEmail(opts.tag)
  const password = opts.password ?? PASSWORD
  const res = await s.req('/signup', { method: 'POST', json: { email, password, ...(opts.data ? { data: opts.data } : {}) } })
  expect(res.status).toBe(200)
  const user = await body<{ id: string; confirmed_at?: string | null }>(res)
  if (!user.confirmed_at) {
    const mail = await s.smtp.waitForMail(email)
    if (opts.confirm !== false) {
      const token = tokenFromMail(mail, 'confirmation_token')
      expect((await s.req('/verify', { method: 'POST', json: { type: 'signup', token } })).status).toBe(200)
    }
  }
  const session = async (): Promise<Tokens> => {
    const r = await login(s, email, password)
    expect(r.status).toBe(200)
    return body<Tokens>(r)
  }
  return { id: user.id, email, password, session }
}

/** newUser, logged in once: its access token and the Authorization header that carries it. */
export async function loggedInUser(s: TestServer, opts: NewUserOptions = {}) {
  const u = await newUser(s, opts)
  const tokens = await u.session()
  return { ...u, token: tokens.access_token, refreshToken: tokens.refresh_token, auth: bearer(tokens.access_token) }
}

/** A confirmed user made through the admin API with the operator token: no mail, and no signup rate limit. */
export async function confirmedUser(s: TestServer, opts: { email?: string; password?: string } = {}) {
  const email = opts.email ?? freshEmail('user')
  const password = opts.password ?? PASSWORD
  const res = await s.req('/admin/users', { method: 'POST', headers: OPERATOR, json: { email, password, confirm: true } })
  expect(res.status).toBe(200)
  return { id: (await body<{ id: string }>(res)).id, email, password }
}

/** confirmedUser, logged in. */
export async function userWithSession(s: TestServer, email?: string) {
  const u = await confirmedUser(s, { email })
  const res = await login(s, u.email, u.password)
  expect(res.status).toBe(200)
  return { ...u, session: await body<Tokens>(res) }
}

/** A TOTP code (RFC 6238: SHA-1, 6 digits, 30 s) computed here with node:crypto, not by the server's code. */
export function totp(secret: string, atMs: number, offsetSteps = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = ''
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0')
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)))
  const counter = Buffer.alloc(8)
  counter.writeBigUInt64BE(BigInt(Math.floor(atMs / 30000) + offsetSteps))
  const mac = createHmac('sha1', key).update(counter).digest()
  const o = mac[19]! & 15
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, '0')
}

/** The env MFA needs: SQLite generates the sealing key on first start (beside the database); MySQL nodes must be given one. */
export const MFA_KEY: Record<string, string> = DIALECT === 'mysql' ? { GOTRUE_DB_ENCRYPTION_KEY: 'mfa-test-sealing-key-long-enough' } : {}

// Server processes: real `gotrue serve` children for the tests that need more than one node (tests/scaleout.test.ts
// on one database, tests/galera/ on a cluster). Each logs to its own file, which a failed start quotes. Every
// process is killed in the test's afterAll and, as a last resort, when the test runner exits.

const GOTRUE = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const running = new Set<Subprocess>()
process.on('exit', () => { for (const p of running) p.kill('SIGKILL') })

/** One `gotrue serve` process: its base URL, the process, and the file its stdout and stderr go to. */
export interface ServerNode { url: string; proc: Subprocess; logFile: string }

/** A port nothing listens on right now (the kernel's pick, released at once). */
export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  return port
}

/** Starts `gotrue serve` in `dir` with exactly `env` (plus PORT), logging to `<dir>/<name>.log`. */
export function spawnNode(env: Env, dir: string, name: string): ServerNode {
  const port = freePort()
  const logFile = join(dir, `${name}.log`)
  const proc = Bun.spawn([process.execPath, GOTRUE, 'serve'], {
    cwd: dir, env: { ...env, PORT: String(port) }, stdin: 'ignore', stdout: Bun.file(logFile), stderr: Bun.file(logFile),
  })
  running.add(proc)
  return { url: `http://127.0.0.1:${port}`, proc, logFile }
}

/** Waits until `path` answers 200 (`/health`, or `/health/ready` to also wait for the database); fails with the
 *  tail of the node's log when it exits or the time runs out. */
export async function waitForNode(node: ServerNode, opts: { path?: string; timeoutMs?: number } = {}): Promise<void> {
  const { path = '/health', timeoutMs = 20_000 } = opts
  const log = () => { try { return readFileSync(node.logFile, 'utf8').slice(-2000) } catch { return '' } }
  for (const until = Date.now() + timeoutMs; Date.now() < until; await Bun.sleep(100)) {
    if (node.proc.exitCode !== null) throw new Error(`node ${node.url} exited with ${node.proc.exitCode}: ${log()}`)
    const res = await fetch(`${node.url}${path}`).catch(() => null)
    if (res?.status === 200) return
  }
  throw new Error(`node ${node.url} not answering ${path} after ${timeoutMs} ms: ${log()}`)
}

/** SIGTERM (a graceful stop), SIGKILL after 5 s. */
export async function stopNode(node: ServerNode | undefined): Promise<void> {
  if (!node) return
  node.proc.kill('SIGTERM')
  const timer = setTimeout(() => node.proc.kill('SIGKILL'), 5000)
  await node.proc.exited
  clearTimeout(timer)
  running.delete(node.proc)
}

/** A client address no other request has used (the nodes key rate limits on X-Client-IP). */
export const freshClient = () => `198.51.100.${crypto.randomUUID().slice(0, 8)}`

export interface NodeRequest {
  method?: string; json?: unknown; form?: Record<string, string>; headers?: Record<string, string>; from?: string; redirect?: RequestRedirect
}
/** A request to a node, from a fresh client unless `from` names one; POST when it carries a body. */
export const callNode = (node: ServerNode, path: string, init: NodeRequest = {}) =>
  fetch(node.url + path, {
    method: init.method ?? (init.json || init.form ? 'POST' : 'GET'),
    redirect: init.redirect,
    headers: {
      'x-client-ip': init.from ?? freshClient(),
      ...(init.json ? { 'content-type': 'application/json' } : init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...init.headers,
    },
    body: init.json ? JSON.stringify(init.json) : init.form ? new URLSearchParams(init.form).toString() : undefined,
  })
/** POST /token grant_type=refresh_token on a node. */
export const refreshOn = (node: ServerNode, token: string, from?: string) =>
  callNode(node, '/token', { form: { grant_type: 'refresh_token', refresh_token: token }, from })
