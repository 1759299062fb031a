// Prometheus metrics in the text exposition format: requests by route, method and status, a latency histogram
// per route, the password-hashing queue, and database transactions in flight. No dependency: a handful of
// counters rendered on GET /metrics (or on GOTRUE_METRICS_PORT), behind GOTRUE_METRICS_TOKEN when it is set.
import { safeEqual } from './crypto.ts'

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`

/** counts[i]: requests that fell in bucket i alone (not cumulative: one increment per request); render() sums. */
interface Histogram { counts: number[]; sum: number; n: number }

export class Metrics {
  private readonly requests = new Map<string, number>()
  private readonly latency = new Map<string, Histogram>()
  private readonly gauges = new Map<string, { help: string; read: () => number }>()
  readonly started = Date.now()

  /** One finished request. `route` is the route pattern (`/admin/users/:user_id`), never the raw path. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const key = `${route}\u0000${method}\u0000${status}`
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1)
    let h = this.latency.get(route)
    if (!h) { h = { counts: BUCKETS.map(() => 0), sum: 0, n: 0 }; this.latency.set(route, h) }
    let i = 0
    while (i < BUCKETS.length && seconds > (BUCKETS[i] as number)) i++
    if (i < BUCKETS.length) h.counts[i] = (h.counts[i] as number) + 1
    h.sum += seconds
    h.n++
  }

  /** A value read at scrape time (queue lengths, pool use). */
  gauge(name: string, help: string, read: () => number): void { this.gauges.set(name, { help, read }) }

  render(): string {
    const out: string[] = [
      '# HELP gotrue_http_requests_total HTTP requests by route, method and status.',
      '# TYPE gotrue_http_requests_total counter',
    ]
    for (const [key, n] of this.requests) {
      const [route = '', method = '', status = ''] = key.split('\u0000')
      out.push(`gotrue_http_requests_total${labels({ route, method, status })} ${n}`)
    }
    out.push('# HELP gotrue_http_request_duration_seconds Request latency by route.', '# TYPE gotrue_http_request_duration_seconds histogram')
    for (const [route, h] of this.latency) {
      let cumulative = 0
      BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i] as number
        out.push(`gotrue_http_request_duration_seconds_bucket${labels({ route, le: String(le) })} ${cumulative}`)
      })
      out.push(`gotrue_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.n}`)
      out.push(`gotrue_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`)
      out.push(`gotrue_http_request_duration_seconds_count${labels({ route })} ${h.n}`)
    }
    for (const [name, g] of this.gauges) out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`, `${name} ${g.read()}`)
    const mem = process.memoryUsage()
    out.push('# HELP process_resident_memory_bytes Resident memory.', '# TYPE process_resident_memory_bytes gauge', `process_resident_memory_bytes ${mem.rss}`)
    out.push('# HELP process_start_time_seconds Start time of the process.', '# TYPE process_start_time_seconds gauge', `process_start_time_seconds ${Math.floor(this.started / 1000)}`)
    return `${out.join('\n')}\n`
  }
}

const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** A scrape's answer, the same on the API port and on the metrics listener. */
export const exposition = (m: Metrics): Response => new Response(m.render(), { headers: { 'content-type': METRICS_CONTENT_TYPE } })

/** Whether a scrape may read the metrics: any, without a configured token; else `Authorization: Bearer <token>`,
 *  compared in constant time. */
export function metricsAllowed(token: string, authorization: string | null | undefined): boolean {
  if (!token) return true
  const m = /^Bearer (\S+)$/.exec(authorization ?? '')
  return !!m && safeEqual(m[1] as string, token)
}
