// The peer: better-auth on Bun with bun:sqlite (its built-in Kysely dialect) and email + password enabled, in
// its default configuration apart from what a benchmark needs: rate limiting off (it is off outside production
// anyway) and a fixed secret. Plain JavaScript so the project's `tsc` does not need bench/peer/node_modules.
// Env: PORT, PEER_DB (SQLite file), PEER_SECRET. Run with `cd bench/peer && bun install` first.
import { Database } from 'bun:sqlite'
import { betterAuth } from 'better-auth'
import { getMigrations } from 'better-auth/db/migration'

const port = Number(process.env.PORT ?? 0)
const db = new Database(process.env.PEER_DB ?? ':memory:', { create: true })
db.exec('PRAGMA journal_mode = WAL')
const base = `http://127.0.0.1:${port}`
const options = {
  database: db,
  baseURL: base,
  secret: process.env.PEER_SECRET ?? 'bench-peer-secret-0123456789abcdef0123456789',
  emailAndPassword: { enabled: true, requireEmailVerification: false },
  rateLimit: { enabled: false },
  trustedOrigins: [base],
  telemetry: { enabled: false },
}
const { runMigrations } = await getMigrations(options)
await runMigrations()
const auth = betterAuth(options)

const server = Bun.serve({
  hostname: '127.0.0.1',
  port,
  fetch(req) {
    const path = new URL(req.url).pathname
    if (path === '/health') return new Response('ok')
    return auth.handler(req)
  },
})
console.log(`peer listening on ${server.port}`)
