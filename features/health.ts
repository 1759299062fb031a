// GET /health: the service's name, version and description (also what the operator's `GET /` answers), with
// 200 only while the database answers; 503 in the GoTrue shape when it does not (for load balancers).
// GET /health/live: the process is up and serving (no database: a liveness probe that restarts the process
// when the database is down would only add restarts to an outage). GET /health/ready: the database answers
// and every migration this build knows is applied, so traffic may come (a new image on an old schema is not).
import { Elysia, t } from 'elysia'
import type { Db } from '../lib/db/index.ts'
import { BUNDLED_MIGRATIONS, embeddedMigrations, listMigrations } from '../lib/db/migrate.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, unavailable } from '../lib/errors.ts'
import { serviceManifest } from '../lib/version.ts'

export const HealthBody = t.Object({ description: t.String(), name: t.String(), version: t.String() })

/** The versions recorded as applied (read-only: the runner, not a probe, creates the table). */
const appliedVersions = (db: Db) => db.all<{ version: string }>('SELECT version FROM {schema_migrations}')

/** A probe's answer computed at most once per second whatever the probe rate, bounded by 1 s. */
function throttled<T>(check: () => Promise<T>, timedOut: T): () => Promise<T> {
  let checkedAt = 0
  let last: Promise<T> | null = null
  return () => {
    const now = Date.now()
    if (!last || now - checkedAt >= 1000) {
      checkedAt = now
      last = Promise.race([check(), new Promise<T>((r) => setTimeout(() => r(timedOut), 1000))])
    }
    return last
  }
}

export function health(deps: Deps) {
  const body = serviceManifest(deps.version)
  const dir = deps.config.db.migrations_path || BUNDLED_MIGRATIONS
  let known: string[] | null = null // read once, on the first readiness probe
  const databaseUp = throttled(() => deps.db.get('SELECT 1 AS ok').then(() => true, () => false), false)
  /** null when ready, else why not. */
  const notReady = throttled<string | null>(async () => {
    let applied: Set<string>
    try { applied = new Set((await appliedVersions(deps.db)).map((r) => String(r.version))) } catch { return 'Database unreachable' }
    known ??= (dir === BUNDLED_MIGRATIONS ? embeddedMigrations(deps.db.dialect) : listMigrations(dir, deps.db.dialect)).map((m) => m.version)
    const pending = known.filter((v) => !applied.has(v)).length
    return pending ? `${pending} database migration(s) pending` : null
  }, 'Database unreachable')
  return new Elysia({ name: 'health' })
    .model({ 'health.response': HealthBody })
    .get('/health', async () => {
      if (!(await databaseUp())) throw unavailable('Database unreachable')
      return body
    }, {
      response: { 200: 'health.response', 503: ErrorBody },
      detail: { summary: 'Service name and version; 503 when the database is unreachable', tags: ['public'] },
    })
    .get('/health/live', () => body, {
      response: { 200: 'health.response' },
      detail: { summary: 'Liveness: the process is up (the database is not consulted)', tags: ['public'] },
    })
    .get('/health/ready', async () => {
      const why = await notReady()
      if (why) throw unavailable(why)
      return body
    }, {
      response: { 200: 'health.response', 503: ErrorBody },
      detail: { summary: 'Readiness: the database answers and every migration is applied; 503 otherwise', tags: ['public'] },
    })
}
