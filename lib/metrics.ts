// Prometheus metrics in the text exposition format: requests by route, method and status, a latency histogram
// per route, the password-hashing queue, and database transactions in flight. No dependency: a handful of
// counters rendered on GET /metrics (or on GOTRUE_METRICS_PORT), behind GOTRUE_METRICS_TOKEN when it is set.
import { safeEqual } from './crypto.ts'
import type { Mailer } from './mailer.ts'
import type { Webhooks } from './webhooks.ts'

/** The account flows operators alert on, and how each attempt ended: `bad_credentials` is every refusal of the
 *  client's input (wrong password, bad or used token, invalid request: a 4xx other than 429), `limited` a 429,
 *  `error` a 5xx. */
export type Flow = 'signup' | 'login' | 'refresh' | 'recovery' | 'verification'
export type Outcome = 'ok' | 'bad_credentials' | 'limited' | 'error'
const ROUTE_FLOWS: Record<string, Flow> = { '/signup': 'signup', '/recover': 'recovery', '/verify': 'verification' }
const flows = new WeakMap<Request, Flow>()
/** POST /token is two flows: its grant type decides (noted in its transform hook, before any limit answers). */
export function noteGrant(request: Request, body: unknown, query: unknown): void {
  const pick = (o: unknown) => (o && typeof o === 'object' ? (o as Record<string, unknown>).grant_type : undefined)
  const g = pick(body) ?? pick(query)
  if (g === 'password') flows.set(request, 'login')
  else if (g === 'refresh_token') flows.set(request, 'refresh')
}
/** The flow a finished request belongs to, if any. */
export const flowOf = (request: Request, route: string): Flow | undefined =>
  flows.get(request) ?? (request.method === 'POST' ? ROUTE_FLOWS[route] : undefined)
export const outcomeOf = (status: number): Outcome =>
  status < 400 ? 'ok' : status === 429 ? 'limited' : status >= 500 ? 'error' : 'bad_credentials'

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
const labels = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}`

/** counts[i]: requests that fell in bucket i alone (not cumulative: one increment per request); render() sums. */
interface Histogram { counts: number[]; sum: number; n: number }

export class Metrics {
  private readonly requests = new Map<string, number>()
  private readonly latency = new Map<string, Histogram>()
  private readonly gauges = new Map<string, { help: string; read: () => number }>()
  private readonly readCounters = new Map<string, { help: string; read: () => number }>()
  /** Counters by series name, then by their rendered label set: one Map update per event. */
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>([
    ['gotrue_auth_attempts_total', { help: 'Signups, logins, refreshes, recoveries and verifications by outcome.', values: new Map() }],
    ['gotrue_mails_total', { help: 'Mails handed to SMTP (or the outbox) by result.', values: new Map() }],
    ['gotrue_webhook_calls_total', { help: 'Outgoing webhook calls by event and outcome (after retries).', values: new Map() }],
    // Present at 0 from the start: an alert on its increase needs the series to exist before the first outage.
    ['gotrue_rate_limit_store_errors_total', { help: 'Rate-limit checks allowed without counting because the limit store (Redis) failed.', values: new Map([['', 0]]) }],
  ])
  readonly started = Date.now()

  private inc(series: string, labelSet: string): void {
    const values = (this.counters.get(series) as { values: Map<string, number> }).values
    values.set(labelSet, (values.get(labelSet) ?? 0) + 1)
  }
  /** One finished attempt of an account flow. */
  attempt(flow: Flow, outcome: Outcome): void { this.inc('gotrue_auth_attempts_total', `{flow="${flow}",outcome="${outcome}"}`) }
  mail(result: 'sent' | 'failed'): void { this.inc('gotrue_mails_total', `{result="${result}"}`) }
  webhook(event: string, outcome: 'ok' | 'error'): void { this.inc('gotrue_webhook_calls_total', labels({ event, outcome })) }
  /** One rate-limit check that failed open: Redis did not answer, so the request went through uncounted. */
  limitStoreError(): void { this.inc('gotrue_rate_limit_store_errors_total', '') }

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

  /** A counter kept elsewhere (a module's running total), read at scrape time. */
  counter(name: string, help: string, read: () => number): void { this.readCounters.set(name, { help, read }) }

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
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`)
      for (const [l, n] of c.values) out.push(`${name}${l} ${n}`)
    }
    for (const [name, c] of this.readCounters) out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`, `${name} ${c.read()}`)
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

/** Counts every mail sent or failed (a mail refused by GOTRUE_RATE_LIMIT_EMAIL_SENT never reaches it). */
export function countedMailer(mailer: Mailer, metrics: Metrics): Mailer {
  return {
    ...mailer,
    send: (kind, to, vars) => mailer.send(kind, to, vars).then(() => metrics.mail('sent'), (e) => { metrics.mail('failed'); throw e }),
  }
}

/** Counts every webhook call actually made, by event and outcome. */
export function countedWebhooks(webhooks: Webhooks, metrics: Metrics): Webhooks {
  return {
    ...webhooks,
    send: (event, instanceId, user, extra) => !webhooks.wants(event)
      ? webhooks.send(event, instanceId, user, extra)
      : webhooks.send(event, instanceId, user, extra).then((r) => { metrics.webhook(event, 'ok'); return r }, (e) => { metrics.webhook(event, 'error'); throw e }),
  }
}
