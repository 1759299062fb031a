// startServer(): the real app on a real port. SQLite in a temp file by default; MySQL (a fresh table namespace
// in TEST_MYSQL_URL's database, dropped on stop) when TEST_MYSQL_URL is set. Migrations are applied, the clock
// can be moved forward, and stop() tears everything down.
import { RedisClient } from 'bun'
import { describe, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { boot, type Booted } from '../bin/serve.ts'
import { type ConfigOverrides, type Env, loadConfig, withOverrides } from '../lib/config.ts'
import type { Db } from '../lib/db/index.ts'
import { makeLogger } from '../lib/log.ts'
import { type CapturedMail, type SmtpCapture, startSmtpCapture } from './fakes/smtp.ts'

export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? ''
export const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379'
export const DIALECT = MYSQL_URL ? 'mysql' : 'sqlite'
export const JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256'

/** `bun test` is the fast tier; `bun run test` (tests/run.ts) sets TEST_TIER=full and runs everything. */
export const FULL_TIER = process.env.TEST_TIER === 'full'
/**
 * Tests that need a browser, the single-binary build, SIGKILL rounds, long timing samples, long fuzzing or
 * waits of many seconds. In the fast tier they are reported as skipped (never as passed); the full run has none.
 */
export const slow = {
  describe: describe.skipIf(!FULL_TIER),
  test: test.skipIf(!FULL_TIER),
}

/** Base environment of every test server: what a site would configure, in GoTrue's variable names. */
export const TEST_ENV: Env = {
  GOTRUE_SITE_URL: 'https://example.netlify.com',
  GOTRUE_JWT_SECRET: JWT_SECRET,
  GOTRUE_JWT_AUD: 'api.netlify.com',
  GOTRUE_OPERATOR_TOKEN: 'operator-token-for-tests',
  GOTRUE_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
  GOTRUE_BCRYPT_COST: '4',
  // Every test talks from 127.0.0.1: the per-client limits are lifted here and tested on their own.
  GOTRUE_RATE_LIMIT_TOKEN_REFRESH: '0',
  GOTRUE_RATE_LIMIT_LOGIN: '0',
  GOTRUE_RATE_LIMIT_VERIFY: '0',
  GOTRUE_RATE_LIMIT_OTP: '0',
}

export interface TestClock { now(): Date; advance(seconds: number): void; reset(): void }
export function testClock(): TestClock {
  let offset = 0
  return { now: () => new Date(Date.now() + offset), advance: (s) => { offset += s * 1000 }, reset: () => { offset = 0 } }
}

export interface TestServer extends Booted {
  url: string
  db: Db
  clock: TestClock
  /** The real SMTP server this app sends to (unless started with smtp: false). */
  smtp: SmtpCapture
  /** fetch relative to the server; JSON bodies are serialised and Content-Type set. */
  req(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>
}

export interface StartOptions { env?: Env; config?: ConfigOverrides; migrate?: boolean; smtp?: boolean }

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-test-'))
  // Servers that must share tables (and Redis key space) pass the same GOTRUE_DB_NAMESPACE; each drops it on stop.
  const namespace = opts.env?.GOTRUE_DB_NAMESPACE ?? `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
  const dbEnv: Env = MYSQL_URL
    ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: namespace }
    : { GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db') }
  const smtp = opts.smtp === false ? null : await startSmtpCapture()
  const smtpEnv: Env = smtp ? { GOTRUE_SMTP_HOST: smtp.host, GOTRUE_SMTP_PORT: String(smtp.port), GOTRUE_SMTP_ADMIN_EMAIL: 'admin@example.com' } : {}
  let config = loadConfig({ env: { ...TEST_ENV, ...dbEnv, ...smtpEnv, GOTRUE_SMTP_OUTBOX_DIR: join(dir, 'outbox'), ...opts.env }, cwd: dir })
  if (opts.config) config = withOverrides(config, opts.config)
  const clock = testClock()
  const booted = await boot(config, { clock, port: 0, automigrate: opts.migrate ?? true, log: makeLogger({ level: config.log.level, file: config.log.file || undefined, fields: config.log.fields }) })
  const { url } = booted
  return {
    ...booted,
    url,
    db: booted.deps.db,
    clock,
    smtp: smtp as SmtpCapture,
    req(path, init = {}) {
      const { json, ...rest } = init
      const headers = new Headers(rest.headers)
      if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json')
      return fetch(url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body })
    },
    async stop() {
      const db = booted.deps.db
      if (db.dialect === 'mysql') {
        await dropNamespace(db, namespace)
      }
      await booted.stop()
      await smtp?.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Reads a JSON response, failing with the body text when it is not JSON. */
export async function body<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text()
  try { return JSON.parse(text) as T } catch { throw new Error(`expected JSON, got ${res.status}: ${text.slice(0, 300)}`) }
}

/** The token in a mail's link fragment, e.g. tokenFromMail(mail, 'confirmation_token'). */
export function tokenFromMail(mail: CapturedMail, key: 'confirmation_token' | 'invite_token' | 'recovery_token' | 'email_change_token'): string {
  const m = new RegExp(`#${key}=([A-Za-z0-9_-]+)`).exec(mail.html)
  if (!m?.[1]) throw new Error(`no ${key} link in mail "${mail.subject}": ${mail.html.slice(0, 300)}`)
  return m[1]
}

/** POST a form-encoded body (the /token endpoint's format). */
export function form(fields: Record<string, string>): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() }
}

/** Drops every MySQL table of a namespace (what a test created in the shared `test` database). */
export async function dropNamespace(db: Db, namespace: string): Promise<void> {
  if (db.dialect !== 'mysql') return
  const tables = await db.all<{ t: string }>(
    'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${namespace}\\_%`])
  if (!tables.length) return
  // One statement, with the foreign key checks off for it alone (MariaDB's SET STATEMENT): DDL has no place in a
  // MySQL transaction, which it commits implicitly (the adapter refuses it there).
  await db.run(`SET STATEMENT foreign_key_checks = 0 FOR DROP TABLE IF EXISTS ${tables.map(({ t }) => `\`${t}\``).join(', ')}`)
}

/** Why Redis cannot be used by a test, or null when it answers PING. */
export async function redisProblem(url: string): Promise<string | null> {
  const probe = new RedisClient(url, { connectionTimeout: 1000, autoReconnect: false, enableOfflineQueue: false })
  try {
    await probe.connect()
    return (await probe.send('PING', [])) === 'PONG' ? null : 'PING was not answered with PONG'
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  } finally { probe.close() }
}
