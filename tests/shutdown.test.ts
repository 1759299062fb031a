// Graceful shutdown of `gotrue serve`, as an orchestrator stops it (SIGTERM) and as a person does (Ctrl-C,
// SIGINT): the listener closes at once so the load balancer moves on, the request already in flight still
// completes with its 200, the log says `shutting down`, and the process exits 0 within a few seconds.
// The in-flight request is a signup held open by a validate webhook that answers after 1.5 s.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDb } from '../lib/db/index.ts'
import { loadConfig } from '../lib/config.ts'
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.ts'
import { body, dropNamespace, JWT_SECRET, MYSQL_URL, slow } from './harness.ts'

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const HOOK_DELAY_MS = 1500
/** Generous bound for "exits within a few seconds" (start-up of a Bun process included elsewhere). */
const EXIT_BOUND_MS = 8000

interface Served { child: Bun.Subprocess<'ignore', 'pipe', 'pipe'>; port: number; dir: string; namespace: string }

async function serve(hook: WebhookReceiver): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'gotrue-shutdown-'))
  const namespace = `t${crypto.randomUUID().replace(/-/g, '').slice(0, 10)}`
  const db = MYSQL_URL
    ? { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL, GOTRUE_DB_NAMESPACE: namespace }
    : { GOTRUE_DB_DRIVER: 'sqlite' }
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000)
    const child = Bun.spawn(['bun', BIN, 'serve'], {
      cwd: dir,
      stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: String(port),
        GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_JWT_SECRET: JWT_SECRET, GOTRUE_SITE_URL: 'https://example.netlify.com',
        GOTRUE_LOG_LEVEL: 'info', GOTRUE_MAILER_AUTOCONFIRM: 'true',
        GOTRUE_WEBHOOK_URL: hook.url, GOTRUE_WEBHOOK_ALLOW_LOCAL: 'true', GOTRUE_WEBHOOK_EVENTS: 'validate',
        ...db,
      },
    })
    const deadline = Date.now() + 15_000
    while (Date.now() < deadline && child.exitCode === null) {
      const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status === 200, () => false)
      if (ok) return { child, port, dir, namespace }
      await Bun.sleep(50)
    }
    child.kill('SIGKILL')
    await child.exited
    if (attempt >= 2) throw new Error(`gotrue serve did not start: ${await new Response(child.stderr).text()}`)
  }
}

/** Drops the MySQL tables of this run (SQLite lives in the temp folder). */
async function cleanup(s: Served): Promise<void> {
  if (MYSQL_URL) {
    const db = await openDb(loadConfig({ env: { GOTRUE_DB_DRIVER: 'mysql', DATABASE_URL: MYSQL_URL }, cwd: s.dir }))
    try {
      await dropNamespace(db, s.namespace)
    } finally { await db.close() }
  }
  rmSync(s.dir, { recursive: true, force: true })
}

/** Resolves true once a new TCP connection to the port is refused (bounded), false if it never is. */
async function refusesConnections(port: number, until: number): Promise<boolean> {
  while (Date.now() < until) {
    const accepted = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } })
      .then((sock) => { sock.end(); return true }, () => false)
    if (!accepted) return true
    await Bun.sleep(20)
  }
  return false
}

const servers: Served[] = []
let hook: WebhookReceiver
beforeAll(() => {
  hook = startWebhookReceiver()
  hook.setDefault({ status: 200, delayMs: HOOK_DELAY_MS })
})
afterAll(async () => {
  for (const s of servers) {
    if (s.child.exitCode === null) s.child.kill('SIGKILL')
    await s.child.exited
    await cleanup(s)
  }
  await hook.stop()
})

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  // One signal is enough for the fast tier: both take the same path once the process has it.
  const group = signal === 'SIGTERM' ? describe : slow.describe
  group(`${signal} while a request is in flight`, () => {
    let s: Served
    beforeAll(async () => {
      s = await serve(hook)
      servers.push(s)
    })

    test('the in-flight signup completes with 200, new connections are refused, exit 0, log says shutting down', async () => {
      const email = `${signal.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}@example.com`
      const before = hook.calls.length
      const inFlight = fetch(`http://127.0.0.1:${s.port}/signup`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'shutdown-password' }),
      })
      // The request is inside the server (waiting for the webhook) before the signal is sent.
      await hook.waitForCalls(before + 1, 10_000)
      let answered = false
      const response = inFlight.then((r) => { answered = true; return r })
      s.child.kill(signal)

      // The listener closes while the signup is still waiting for its webhook.
      expect(await refusesConnections(s.port, Date.now() + HOOK_DELAY_MS - 300)).toBe(true)
      expect(answered).toBe(false)

      const res = await response
      expect(res.status).toBe(200)
      const user = await body(res)
      expect(user.email).toBe(email)
      expect(typeof user.confirmed_at).toBe('string')

      const code = await Promise.race([s.child.exited, Bun.sleep(EXIT_BOUND_MS).then(() => 'still running')])
      expect(code).toBe(0)
      const lines = (await new Response(s.child.stderr).text()).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      const stopping = lines.filter((l) => l.msg === 'shutting down')
      expect(stopping.length).toBe(1)
      expect(stopping[0]?.signal).toBe(signal)
      expect(stopping[0]?.level).toBe('info')
      // The access line of the in-flight request was written before the exit.
      expect(lines.some((l) => l.msg === 'request completed' && l.path === '/signup' && l.status === 200)).toBe(true)
    })
  })
}
