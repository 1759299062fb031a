// GET /metrics: Prometheus text format (requests by route and status, latency histograms, hashing queue,
// database operations in flight, memory). Off with GOTRUE_METRICS_ENABLED=false; with GOTRUE_METRICS_PORT it is
// served on that port only (bin/gotrue.ts starts that listener) and not on the API port.
import { Elysia, t } from 'elysia'
import type { Deps } from '../lib/deps.ts'

export function metrics(deps: Deps) {
  const app = new Elysia({ name: 'metrics' })
  if (!deps.config.metrics.enabled || deps.config.metrics.port) return app
  return app.get('/metrics', () => new Response(deps.metrics.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } }), {
    response: { 200: t.String({ description: 'Prometheus text exposition format' }) },
    detail: { summary: 'Prometheus metrics', tags: ['public'] },
  })
}
