// Request tracing (spec §13, GOTRUE_TRACING_*): one `http.handler` span per request and child spans for database
// statements, transactions, mail and webhooks. The current span lives in an AsyncLocalStorage, so a span started
// anywhere below a request nests under it without being passed around. Finished spans wait in a bounded buffer
// that is flushed every second (and on close) to a Datadog agent (`PUT /v0.3/traces`, JSON) and/or an OTLP/HTTP
// JSON collector. Tracing never blocks or fails a request: a full buffer drops spans, a failed export is logged.
// Disabled, the tracer is a no-op: no context switch, no allocation beyond one shared span.
import { AsyncLocalStorage } from 'node:async_hooks'
import { type Config, ConfigError } from './config.ts'
import type { Logger } from './log.ts'

export type Tags = Record<string, string | number | boolean>
/** `type` is Datadog's span type; `kind` is OTLP's (server: a request we answer, client: a call we make). */
export interface SpanOptions { resource?: string; type?: 'web' | 'sql' | 'http' | 'custom'; kind?: 'server' | 'client' | 'internal'; root?: boolean }

export interface Span {
  setTag(key: string, value: string | number | boolean): void
  setResource(resource: string): void
  /** Marks the span as failed; `type` (an error class name, never a message that may carry user data) is tagged. */
  setError(type?: string): void
  finish(): void
}

export interface Tracer {
  readonly enabled: boolean
  /** A span child of the current one (or a new trace when there is none, or with `root`). */
  startSpan(name: string, tags?: Tags, opts?: SpanOptions): Span
  /** Makes `span` the current span for the rest of this async execution (the request span, from the transform hook in lib/hooks.ts). */
  enter(span: Span): void
  /** Runs fn inside a child span of the current span, failed when fn throws. Untraced outside any span. */
  trace<T>(name: string, tags: Tags, opts: SpanOptions, fn: () => Promise<T>): Promise<T>
  /** Sends what is buffered; close() also stops the timer. */
  flush(): Promise<void>
  close(): Promise<void>
}

const NOOP_SPAN: Span = { setTag() {}, setResource() {}, setError() {}, finish() {} }
export const noopTracer: Tracer = {
  enabled: false, startSpan: () => NOOP_SPAN, enter() {}, trace: (_n, _t, _o, fn) => fn(), flush: async () => {}, close: async () => {},
}

const ids = new BigUint64Array(1)
/** A random non-zero 63-bit id (Datadog's tracers keep the top bit clear so signed-int64 backends agree). */
function newId(): bigint {
  let id = 0n
  while (id === 0n) { crypto.getRandomValues(ids); id = (ids[0] as bigint) & 0x7fffffffffffffffn }
  return id
}
const epochMs = () => performance.timeOrigin + performance.now()
/** Epoch milliseconds (fractional) → integer nanoseconds, exact in a bigint. */
const nanos = (ms: number) => BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6))

class RecordingSpan implements Span {
  readonly spanId = newId()
  readonly traceId: bigint
  readonly parentId: bigint
  readonly start = epochMs()
  duration = -1
  error = false
  resource: string
  readonly meta: Record<string, string>
  constructor(private readonly tracer: RecordingTracer, readonly name: string, tags: Tags | undefined, readonly opts: SpanOptions, parent: RecordingSpan | undefined) {
    this.traceId = parent?.traceId ?? this.spanId
    this.parentId = parent?.spanId ?? 0n
    this.resource = opts.resource ?? name
    this.meta = { ...tracer.globalTags }
    if (tags) for (const k in tags) this.meta[k] = String(tags[k])
  }
  setTag(key: string, value: string | number | boolean) { this.meta[key] = String(value) }
  setResource(resource: string) { this.resource = resource }
  setError(type?: string) { this.error = true; if (type) this.meta['error.type'] = type }
  finish() { if (this.duration < 0) { this.duration = epochMs() - this.start; this.tracer.record(this) } }
}

type Exporter = (spans: RecordingSpan[]) => Promise<void>

class RecordingTracer implements Tracer {
  readonly enabled = true
  readonly globalTags: Record<string, string>
  private readonly als = new AsyncLocalStorage<RecordingSpan>()
  private buffer: RecordingSpan[] = []
  private dropped = 0
  private inflight: Promise<void> = Promise.resolve()
  private sending = 0
  private readonly failing = new Set<number>()
  private readonly timer: ReturnType<typeof setInterval>
  constructor(tags: Record<string, string>, private readonly exporters: Exporter[], private readonly log: Logger, private readonly maxSpans = 10_000) {
    this.globalTags = { ...tags }
    // A tick while an export is still running (a slow collector) is skipped rather than queued.
    this.timer = setInterval(() => { if (!this.sending) void this.flush() }, 1000)
    this.timer.unref?.()
  }
  startSpan(name: string, tags?: Tags, opts: SpanOptions = {}): Span {
    return new RecordingSpan(this, name, tags, opts, opts.root ? undefined : this.als.getStore())
  }
  enter(span: Span) { if (span instanceof RecordingSpan) this.als.enterWith(span) }
  async trace<T>(name: string, tags: Tags, opts: SpanOptions, fn: () => Promise<T>): Promise<T> {
    const parent = this.als.getStore()
    if (!parent) return fn()
    const span = new RecordingSpan(this, name, tags, opts, parent)
    try {
      return await this.als.run(span, fn)
    } catch (e) {
      // A throw that only rolls a transaction back (lib/mfa.ts Unchanged: a request that changed nothing) is not
      // a failure of the span it leaves.
      if (!(e && typeof e === 'object' && (e as { rollbackOnly?: unknown }).rollbackOnly === true)) {
        span.setError(e instanceof Error ? e.constructor.name : typeof e)
      }
      throw e
    } finally { span.finish() }
  }
  record(span: RecordingSpan) {
    if (this.buffer.length < this.maxSpans) this.buffer.push(span)
    else this.dropped++
  }
  flush(): Promise<void> {
    // One export at a time: the next flush waits for the previous one.
    this.sending++
    this.inflight = this.inflight.then(() => this.send()).finally(() => { this.sending-- })
    return this.inflight
  }
  private async send() {
    if (this.dropped) {
      this.log.warn('tracing buffer full, spans dropped', { component: 'tracing', dropped: this.dropped })
      this.dropped = 0
    }
    if (!this.buffer.length) return
    const spans = this.buffer
    this.buffer = []
    // A collector that stays down is reported once (and again after it came back and failed anew), not every second.
    await Promise.all(this.exporters.map((x, i) => x(spans).then(() => this.failing.delete(i), (e) => {
      if (!this.failing.has(i)) this.log.warn('tracing export failed', { component: 'tracing', spans: spans.length, error: e instanceof Error ? e.message : String(e) })
      this.failing.add(i)
    })))
  }
  close() { clearInterval(this.timer); return this.flush() }
}

async function post(url: string, method: string, body: string, headers: Record<string, string>) {
  const res = await fetch(url, { method, body, headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(5000) })
  await res.arrayBuffer()
  if (res.status >= 300) throw new Error(`${method} ${url}: status ${res.status}`)
}

/** Datadog agent API v0.3: an array of traces, each an array of spans. Ids and times are uint64 numbers, written
 *  by hand because JSON.stringify cannot print a bigint and a double would lose their low bits. */
function datadog(url: string, service: string): Exporter {
  return (spans) => {
    const traces = new Map<bigint, string[]>()
    for (const s of spans) {
      const json = `{"trace_id":${s.traceId},"span_id":${s.spanId},"parent_id":${s.parentId},"name":${JSON.stringify(s.name)},` +
        `"resource":${JSON.stringify(s.resource)},"service":${JSON.stringify(service)},"type":"${s.opts.type ?? 'custom'}",` +
        `"start":${nanos(s.start)},"duration":${Math.round(s.duration * 1e6)},"error":${s.error ? 1 : 0},"meta":${JSON.stringify(s.meta)}}`
      traces.get(s.traceId)?.push(json) ?? traces.set(s.traceId, [json])
    }
    const body = `[${[...traces.values()].map((t) => `[${t.join(',')}]`).join(',')}]`
    return post(url, 'PUT', body, { 'x-datadog-trace-count': String(traces.size) })
  }
}

const KIND = { internal: 1, server: 2, client: 3 } as const
const hex = (id: bigint, width: number) => id.toString(16).padStart(width, '0')
const attrs = (m: Record<string, string>) => Object.entries(m).map(([key, v]) => ({ key, value: { stringValue: v } }))

/** OTLP/HTTP with the JSON encoding: ids in hex (the 64-bit trace id zero-extended to 128 bits), times as strings. */
function otlp(url: string, service: string): Exporter {
  return (spans) => post(url, 'POST', JSON.stringify({
    resourceSpans: [{
      resource: { attributes: attrs({ 'service.name': service }) },
      scopeSpans: [{
        scope: { name: 'gotrue' },
        spans: spans.map((s) => ({
          traceId: hex(s.traceId, 32),
          spanId: hex(s.spanId, 16),
          parentSpanId: s.parentId ? hex(s.parentId, 16) : '',
          name: s.name,
          kind: KIND[s.opts.kind ?? 'internal'],
          startTimeUnixNano: String(nanos(s.start)),
          endTimeUnixNano: String(nanos(s.start + s.duration)),
          attributes: attrs({ ...s.meta, 'resource.name': s.resource }),
          status: s.error ? { code: 2 } : { code: 0 },
        })),
      }],
    }],
  }), {})
}

/** Throws the ConfigError a bad GOTRUE_TRACING_* value deserves; boot() calls it before anything is written. */
export function checkTracing(config: Config): void {
  const t = config.tracing
  if (t.enabled && t.otlp_endpoint && !/^https?:$/.test(URL.parse(t.otlp_endpoint)?.protocol ?? '')) {
    throw new ConfigError(`GOTRUE_TRACING_OTLP_ENDPOINT: expected an http(s) URL, got ${JSON.stringify(t.otlp_endpoint)}`)
  }
}

/** GOTRUE_TRACING_*: OTLP when an endpoint is set, the Datadog agent when a host or port is set (both when both;
 *  localhost:8126, the agent's default, when neither). */
export function makeTracer(config: Config, log: Logger): Tracer {
  const t = config.tracing
  if (!t.enabled) return noopTracer
  checkTracing(config)
  const exporters: Exporter[] = []
  if (t.otlp_endpoint) exporters.push(otlp(t.otlp_endpoint, t.service_name))
  if (t.host || t.port || !t.otlp_endpoint) {
    const host = t.host || 'localhost'
    exporters.push(datadog(`http://${host.includes(':') ? `[${host}]` : host}:${t.port || '8126'}/v0.3/traces`, t.service_name))
  }
  return new RecordingTracer(t.tags, exporters, log)
}
