// GET /metrics: Prometheus text format (requests by route and status, latency histograms, hashing queue,
// database operations in flight, memory). Off with GOTRUE_METRICS_ENABLED=false; with GOTRUE_METRICS_PORT it is
// served on that port only (bin/serve.ts starts that listener) and not on the API port. On the API port, which
// faces the internet, it is served only behind GOTRUE_METRICS_TOKEN: traffic per route and status, the login
// queue and memory are for the operator's monitoring, not for anyone who asks.
import { Elysia, t } from 'elysia'
import type { Deps } from '../lib/deps.ts'
import { SECURITY } from '../lib/openapi.ts'
import { ErrorBody, unauthorized } from '../lib/errors.ts'
import { exposition, metricsAllowed } from '../lib/metrics.ts'

export function metrics(deps: Deps) {
  const app = new Elysia({ name: 'metrics' })
  const { enabled, port, token } = deps.config.metrics
  if (!enabled || port || !token) return app
  return app.get('/metrics', ({ headers }) => {
    if (!metricsAllowed(token, headers.authorization)) throw unauthorized('Invalid metrics token', { 'www-authenticate': 'Bearer' })
    return exposition(deps.metrics)
  }, {
    response: { 200: t.String({ description: 'Prometheus text exposition format' }), 401: ErrorBody },
    detail: { summary: 'Prometheus metrics (Authorization: Bearer GOTRUE_METRICS_TOKEN)', tags: ['public'], security: SECURITY.metrics },
  })
}
