// The server process: boot() opens the database, checks migrations, builds the app (or the multi-instance
// dispatcher), listens, and starts the separate metrics listener when configured; stop() drains and closes
// everything. The `serve` verb adds the start-up line and the signal handling; the tests call boot() directly.
import type { Server } from 'bun'
import { type App, createApp } from '../app.ts'
import { serverBodyLimit } from '../lib/body.ts'
import { trustedOf, watchForwardedFor } from '../lib/client.ts'
import { type Config, ConfigError } from '../lib/config.ts'
import { openDb } from '../lib/db/index.ts'
import { BUNDLED_MIGRATIONS, migrate, pendingMigrations } from '../lib/db/migrate.ts'
import { type Clock, type Deps, makeDeps } from '../lib/deps.ts'
import { type Logger, makeLogger } from '../lib/log.ts'
import { exposition, metricsAllowed } from '../lib/metrics.ts'
import { ensureEncryptionKey, ensureJwtSecret } from '../lib/secrets.ts'
import { checkTracing } from '../lib/tracing.ts'
import { VERSION } from '../lib/version.ts'
import { createMultiInstanceServer } from './multi.ts'

export const migrationsDir = (c: Config) => c.db.migrations_path || BUNDLED_MIGRATIONS

export interface Booted { deps: Deps; app: App; url: string; address: string; stop(): Promise<void> }

/** Opens the database, checks migrations, builds the app and listens. Used by `serve` and by the tests. */
export async function boot(config: Config, opts: { clock?: Clock; log?: Logger; port?: number; automigrate?: boolean } = {}): Promise<Booted> {
  const log = opts.log ?? makeLogger({ level: config.log.level, file: config.log.file || undefined, fields: config.log.fields })
  // Multi-instance mode signs with each instance's own secret: no process-wide one is generated there.
  // Bad values stop the start, naming the variable, before anything is generated or written.
  trustedOf(config)
  checkTracing(config)
  if (!config.multi_instance_mode) config = ensureEncryptionKey(ensureJwtSecret(config, log), log)
  const db = await openDb(config)
  try {
    if (config.db.automigrate || opts.automigrate) await migrate(db, migrationsDir(config))
    const pending = await pendingMigrations(db, migrationsDir(config))
    if (pending.length) {
      throw new ConfigError(`database has ${pending.length} pending migration(s) (${pending.map((m) => `${m.version}_${m.name}`).join(', ')}): run \`gotrue migrate\` first, or set GOTRUE_DB_AUTOMIGRATE=true`)
    }
  } catch (e) {
    await db.close()
    throw e
  }
  let deps: Deps
  let app: App
  let server: Server<unknown> | null
  // reusePort off: Elysia turns SO_REUSEPORT on by default, and then a second server on the same port starts
  // without a word and the kernel splits the traffic between the two.
  const listen = { hostname: config.api.host || '0.0.0.0', port: opts.port ?? config.api.port, maxRequestBodySize: serverBodyLimit(config.api.max_body_bytes), reusePort: false }
  try {
    deps = makeDeps(config, db, log, { clock: opts.clock, version: VERSION })
    if (config.multi_instance_mode) {
      // Operator mode: Bun serves the dispatcher, which hands each request to the operator app or an instance's app.
      if (!config.operator_token) throw new ConfigError('GOTRUE_OPERATOR_TOKEN: required in multi-instance mode')
      const multi = createMultiInstanceServer(deps)
      app = multi.operator as unknown as App
      server = Bun.serve({ ...listen, fetch: (req, srv) => multi.fetch(req, srv) })
    } else {
      app = createApp(deps)
      app.listen(listen)
      server = app.server
    }
  } catch (e) {
    await db.close() // a bad setting found while wiring (e.g. the tracing endpoint), or the port is taken
    if ((e as { code?: string }).code === 'EADDRINUSE') throw new ConfigError(`port ${listen.port} is already in use`)
    throw e
  }
  if (!server) throw new Error('server did not start')
  const listening = server
  const url = `http://${config.api.host && config.api.host !== '0.0.0.0' ? config.api.host : '127.0.0.1'}:${server.port}`
  /** Where it really listens (0.0.0.0 when on every interface), for the start-up line; `url` is how to reach it. */
  const address = `${listen.hostname}:${server.port}`
  const metricsServer = metricsListener(config, deps)
  watchForwardedFor(deps.config, (msg) => log.warn(msg))
  log.info('rate limits in effect', limitsSummary(config))
  if (config.metrics.enabled && !config.metrics.port && !config.metrics.token) {
    log.info('metrics: GET /metrics is not served on the API port without GOTRUE_METRICS_TOKEN; set it, or GOTRUE_METRICS_PORT')
  }
  return {
    deps, app, url, address,
    async stop() {
      metricsServer?.stop(true)
      // Stops listening at once and resolves when the requests in flight have been answered (Bun's
      // server.stop(false)); the signal handler in `serve` bounds the wait.
      if (config.multi_instance_mode) await listening.stop()
      else await app.stop()
      // Elysia runs onAfterResponse (access log, metrics, trace span) in a setImmediate queued as each handler
      // returns: let the last ones run before the database closes and the process exits.
      await new Promise((r) => setImmediate(r))
      await deps.tracer.close() // the last requests' spans
      deps.mailer.close()
      deps.limiter.close()
      await db.close()
    },
  }
}

/** What the per-client limits key on and how many requests they allow, stated once at start: behind a proxy
 *  that nobody declared, every user shares one bucket, and this line is where an operator sees it. */
function limitsSummary(config: Config): Record<string, unknown> {
  const off = (n: number, per: string) => (n > 0 ? `${n}/${per}` : 'off')
  const r = config.rate_limit
  return {
    client: config.trusted_proxies.length
      ? `from trusted proxies (${config.trusted_proxies.join(',')}): ${config.rate_limit_header || 'X-Forwarded-For'}; otherwise the socket address`
      : config.rate_limit_header ? `header ${config.rate_limit_header}` : 'socket address',
    token: off(r.token_refresh, '5m per client'), login: off(r.login, '5m per account and client'),
    login_account: off(r.login_account, '5m per account'), verify: off(r.verify, '5m per client'),
    otp: off(r.otp, '1h per client and per email'), email_sent: off(r.email_sent, '1h'),
    store: config.redis_url ? 'redis' : 'memory',
  }
}

/** GOTRUE_METRICS_PORT: metrics on their own listener (e.g. reachable only from the monitoring network), behind
 *  GOTRUE_METRICS_TOKEN too when one is set. */
function metricsListener(config: Config, deps: Deps): Server<unknown> | null {
  const { metrics } = config
  if (!metrics.enabled || !metrics.port) return null
  return Bun.serve({
    hostname: config.api.host || '0.0.0.0', port: metrics.port, maxRequestBodySize: 1024, // a scrape has no body
    fetch: (req) => {
      if (new URL(req.url).pathname !== '/metrics') return new Response('404 page not found', { status: 404 })
      if (!metricsAllowed(metrics.token, req.headers.get('authorization'))) {
        return new Response('Invalid metrics token', { status: 401, headers: { 'www-authenticate': 'Bearer' } })
      }
      return exposition(deps.metrics)
    },
  })
}

/** `gotrue serve`: boots and runs until SIGTERM or SIGINT, then drains (at most 30 s) and exits. */
export async function serve(config: Config): Promise<void> {
  const s = await boot(config)
  s.deps.log.info(`GoTrue API started on: ${s.address}`, { version: VERSION, driver: config.db.driver })
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    s.deps.log.info('shutting down', { signal })
    const timer = setTimeout(() => process.exit(1), 30_000)
    await s.stop().catch(() => {})
    clearTimeout(timer)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
