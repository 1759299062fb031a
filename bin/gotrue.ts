#!/usr/bin/env bun
// CLI: serve (default) | migrate | openapi | version | admin …  Global flag: -c/--config FILE (a dotenv file).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Server } from 'bun'
import { createApp, createMultiInstanceServer } from '../app.ts'
import { admin, UsageError } from './admin.ts'
import { type Config, ConfigError, describeConfig, loadConfig } from '../lib/config.ts'
import { openDb } from '../lib/db/index.ts'
import { BUNDLED_MIGRATIONS, migrate, pendingMigrations } from '../lib/db/migrate.ts'
import { type Clock, type Deps, makeDeps } from '../lib/deps.ts'
import { serverBodyLimit } from '../lib/hooks.ts'
import { type Logger, makeLogger } from '../lib/log.ts'
import { METRICS_CONTENT_TYPE, metricsAllowed } from '../lib/metrics.ts'
import { renderSpec } from '../lib/openapi.ts'
import { ensureJwtSecret } from '../lib/secrets.ts'
import { VERSION } from '../lib/version.ts'

const HELP = `gotrue ${VERSION}: user registration and authentication API (GoTrue-compatible)

Usage: gotrue [command] [-c|--config FILE]

Commands:
  serve       start the API server (default)
  multi       start in multi-instance (operator) mode (same as GOTRUE_MULTIINSTANCEMODE=true)
  migrate     apply pending database migrations
  openapi     write openapi/openapi.json (or print it with --stdout)
  version     print the version
  config      print every configuration variable (--markdown table or --env file)
  admin       user administration: createuser, deleteuser, list, export, import (gotrue admin --help)
  help        this text

Configuration comes from GOTRUE_* environment variables and a dotenv file (./.env, or --config FILE);
see README.md for every variable.`

const migrationsDir = (c: Config) => c.db.migrations_path || BUNDLED_MIGRATIONS

export interface Booted { deps: Deps; app: ReturnType<typeof createApp>; url: string; stop(): Promise<void> }

/** Opens the database, checks migrations, builds the app and listens. Used by `serve` and by the tests. */
export async function boot(config: Config, opts: { clock?: Clock; log?: Logger; port?: number; automigrate?: boolean } = {}): Promise<Booted> {
  const log = opts.log ?? makeLogger({ level: config.log.level, file: config.log.file || undefined, fields: config.log.fields })
  // Multi-instance mode signs with each instance's own secret: no process-wide one is generated there.
  if (!config.multi_instance_mode) config = ensureJwtSecret(config, log)
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
  let app: ReturnType<typeof createApp>
  let server: Server<unknown> | null
  const listen = { hostname: config.api.host || '0.0.0.0', port: opts.port ?? config.api.port, maxRequestBodySize: serverBodyLimit(config.api.max_body_bytes) }
  try {
    deps = makeDeps(config, db, log, { clock: opts.clock, version: VERSION })
    if (config.multi_instance_mode) {
      // Operator mode: Bun serves the dispatcher, which hands each request to the operator app or an instance's app.
      if (!config.operator_token) throw new ConfigError('GOTRUE_OPERATOR_TOKEN: required in multi-instance mode')
      const multi = createMultiInstanceServer(deps)
      app = multi.operator as unknown as ReturnType<typeof createApp>
      server = Bun.serve({ ...listen, fetch: (req, srv) => multi.fetch(req, srv) })
    } else {
      app = createApp(deps)
      app.listen(listen)
      server = app.server
    }
  } catch (e) {
    await db.close() // a bad setting found while wiring (e.g. the tracing endpoint), or the port is taken
    throw e
  }
  if (!server) throw new Error('server did not start')
  const listening = server
  const url = `http://${config.api.host && config.api.host !== '0.0.0.0' ? config.api.host : '127.0.0.1'}:${server.port}`
  // GOTRUE_METRICS_PORT: metrics on their own listener (e.g. reachable only from the monitoring network), behind
  // GOTRUE_METRICS_TOKEN too when one is set.
  const { metrics } = config
  const metricsServer = metrics.enabled && metrics.port
    ? Bun.serve({
        hostname: config.api.host || '0.0.0.0', port: metrics.port, maxRequestBodySize: 1024, // a scrape has no body
        fetch: (req) => {
          if (new URL(req.url).pathname !== '/metrics') return new Response('404 page not found', { status: 404 })
          if (!metricsAllowed(metrics.token, req.headers.get('authorization'))) {
            return new Response('Invalid metrics token', { status: 401, headers: { 'www-authenticate': 'Bearer' } })
          }
          return new Response(deps.metrics.render(), { headers: { 'content-type': METRICS_CONTENT_TYPE } })
        },
      })
    : null
  if (metrics.enabled && !metrics.port && !metrics.token) {
    log.info('metrics: GET /metrics is not served on the API port without GOTRUE_METRICS_TOKEN; set it, or GOTRUE_METRICS_PORT')
  }
  return {
    deps, app, url,
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

async function main(argv: string[]): Promise<number> {
  const args = [...argv]
  let file: string | undefined
  const ci = args.findIndex((a) => a === '-c' || a === '--config')
  if (ci >= 0) { file = args[ci + 1]; args.splice(ci, 2) }
  const command = args.shift() ?? 'serve'
  if (command === 'help' || command === '--help' || command === '-h') { console.log(HELP); return 0 }
  if (command === 'version' || command === '--version') { console.log(VERSION); return 0 }
  const config = loadConfig({ file })
  switch (command) {
    case 'multi':
    case 'serve': {
      const s = await boot(command === 'multi' ? { ...config, multi_instance_mode: true } : config)
      s.deps.log.info(`GoTrue API started on: ${s.url.replace('http://', '')}`, { version: VERSION, driver: config.db.driver })
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
      return -1 // keep running
    }
    case 'migrate': {
      const db = await openDb(config)
      try {
        const done = await migrate(db, migrationsDir(config))
        if (!done.length) console.log('migrate: database is up to date')
        for (const m of done) console.log(`migrate: applied ${m.version}_${m.name}`)
      } finally { await db.close() }
      return 0
    }
    case 'openapi': {
      // Generated from defaults, not from this machine's .env, so the committed spec is reproducible.
      const docConfig = loadConfig({ env: {}, cwd: '/nonexistent' })
      const quiet = makeLogger({ level: 'error' })
      const app = createApp(makeDeps({ ...docConfig, jwt: { ...docConfig.jwt, secret: 'openapi' }, metrics: { ...docConfig.metrics, token: 'openapi' } }, null as never, quiet, { version: VERSION }))
      const spec = await renderSpec(app)
      // wait for the pipe to drain: process.exit right after a large write would cut it at 64 KiB
      if (args.includes('--stdout')) await new Promise<void>((r) => process.stdout.write(spec, () => r()))
      else {
        const out = join(import.meta.dir, '..', 'openapi', 'openapi.json')
        writeFileSync(out, spec)
        console.log(`openapi: wrote ${out}`)
      }
      return 0
    }
    case 'admin': {
      try {
        return await admin(config, args)
      } catch (e) {
        if (e instanceof UsageError) { console.error(`gotrue admin: ${e.message} (see gotrue admin --help)`); return 2 }
        throw e
      }
    }
    case 'config': {
      // Documentation of every variable, from the schema: a markdown table (default), `--env` (.env.example),
      // or `--write`: both written into README.md (between the table header and `## Development`) and .env.example.
      const rows = describeConfig()
      const show = (v: unknown) => (Array.isArray(v) ? v.join(',') : v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}:${x}`).join(',') : String(v))
      const env = rows.map((r) => `# ${r.doc}${r.alt.length ? ` (also ${r.alt.join(', ')})` : ''}\n# ${r.env}=${show(r.def)}\n`).join('\n')
      const table = ['| variable | default | meaning |', '|---|---|---|',
        ...rows.map((r) => `| \`${r.env}\`${r.alt.map((a) => ` / \`${a}\``).join('')} | ${show(r.def) === '' ? '' : `\`${show(r.def)}\``} | ${r.doc.replace(/\|/g, '\\|')} |`)].join('\n')
      if (args.includes('--write')) {
        const root = join(import.meta.dir, '..')
        const readme = readFileSync(join(root, 'README.md'), 'utf8')
        const start = readme.indexOf('| variable | default | meaning |')
        const end = readme.indexOf('\n## Development')
        if (start < 0 || end < start) throw new Error('README.md: config table or "## Development" heading not found')
        writeFileSync(join(root, 'README.md'), `${readme.slice(0, start)}${table}\n${readme.slice(end)}`)
        writeFileSync(join(root, '.env.example'), `# GoTrue configuration. Every variable with its default; uncomment to change.\n# The real environment wins over this file; GOTRUE_-prefixed names win over unprefixed ones.\n# Generated by: bun bin/gotrue.ts config --write\n\n${env}`)
        console.log('config: README.md table and .env.example written')
      } else console.log(args.includes('--env') ? env : table)
      return 0
    }
    default:
      console.error(`gotrue: unknown command "${command}"\n\n${HELP}`)
      return 2
  }
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => { if (code >= 0) process.exit(code) },
    (e) => {
      console.error(e instanceof ConfigError ? `gotrue: ${e.message}` : `gotrue: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    },
  )
}
