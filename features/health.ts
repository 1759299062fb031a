// GET /health: the service's name, version and description (also what the operator's `GET /` answers), with
// 200 only while the database answers; 503 in the GoTrue shape when it does not (for load balancers).
import { Elysia, t } from 'elysia'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, unavailable } from '../lib/errors.ts'
import { serviceManifest } from '../lib/version.ts'

export const HealthBody = t.Object({ description: t.String(), name: t.String(), version: t.String() })

export function health(deps: Deps) {
  const body = serviceManifest(deps.version)
  let checkedAt = 0
  let ok: Promise<boolean> = Promise.resolve(true)
  /** SELECT 1 with a 1 s bound, at most once per second whatever the probe rate. */
  const databaseUp = (): Promise<boolean> => {
    const now = Date.now()
    if (now - checkedAt >= 1000) {
      checkedAt = now
      ok = Promise.race([
        deps.db.get('SELECT 1 AS ok').then(() => true, () => false),
        new Promise<boolean>((r) => setTimeout(() => r(false), 1000)),
      ])
    }
    return ok
  }
  return new Elysia({ name: 'health' })
    .model({ 'health.response': HealthBody })
    .get('/health', async () => {
      if (!(await databaseUp())) throw unavailable('Database unreachable')
      return body
    }, {
      response: { 200: 'health.response', 503: ErrorBody },
      detail: { summary: 'Service name and version; 503 when the database is unreachable', tags: ['public'] },
    })
}
