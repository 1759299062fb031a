// A fake tracing backend for tests: Bun.serve on 127.0.0.1:<ephemeral> that answers both a Datadog agent
// (`PUT /v0.3/traces`, JSON) and an OTLP/HTTP JSON collector (`POST /v1/traces`) and records every body.
// The Datadog body is checked the way the agent decodes it: ids and times must be unsigned integer literals (a
// quoted id, or a double that lost its low bits, would be rejected or corrupted). They are kept as decimal strings
// here because JSON.parse would round anything above 2^53.

export interface DdSpan {
  trace_id: string; span_id: string; parent_id: string
  name: string; resource: string; service: string; type: string
  start: string; duration: number; error: number; meta: Record<string, string>
}
export interface OtlpSpan {
  traceId: string; spanId: string; parentSpanId: string; name: string; kind: number
  startTimeUnixNano: string; endTimeUnixNano: string
  attributes: { key: string; value: { stringValue: string } }[]
  status: { code: number }
}
export interface OtlpBody {
  resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { scope: { name: string }; spans: OtlpSpan[] }[] }[]
}
export interface AgentRequest { method: string; path: string; headers: Record<string, string>; raw: string }

export interface TraceAgent {
  host: string
  port: number
  /** The OTLP endpoint, e.g. http://127.0.0.1:41234/v1/traces */
  otlpUrl: string
  /** Every request, in arrival order (both APIs). */
  requests: AgentRequest[]
  /** Every span received on the Datadog API, flattened over traces. */
  ddSpans(): DdSpan[]
  /** Every span received on the OTLP API, with the service.name of its resource. */
  otlpSpans(): (OtlpSpan & { service: string })[]
  stop(): Promise<void>
}

const U64 = /"(trace_id|span_id|parent_id|start)":(\d+)([,}])/g
const U64_FIELDS = ['trace_id', 'span_id', 'parent_id', 'start']

export function parseDatadog(raw: string): DdSpan[][] {
  const traces = JSON.parse(raw.replace(U64, '"$1":"$2"$3')) as DdSpan[][]
  for (const span of traces.flat()) {
    for (const f of U64_FIELDS) {
      if (typeof span[f as keyof DdSpan] !== 'string') throw new Error(`datadog span field ${f} is not an unsigned integer: ${raw.slice(0, 300)}`)
    }
  }
  return traces
}

export async function startTraceAgent(): Promise<TraceAgent> {
  const requests: AgentRequest[] = []
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname
      const raw = await req.text()
      requests.push({ method: req.method, path, headers: req.headers.toJSON(), raw })
      if (req.method === 'PUT' && path === '/v0.3/traces') return Response.json({ rate_by_service: {} })
      if (req.method === 'POST' && path === '/v1/traces') return Response.json({})
      return new Response('not found', { status: 404 })
    },
  })
  const port = server.port as number
  return {
    host: '127.0.0.1',
    port,
    otlpUrl: `http://127.0.0.1:${port}/v1/traces`,
    requests,
    ddSpans: () => requests.filter((r) => r.path === '/v0.3/traces').flatMap((r) => parseDatadog(r.raw).flat()),
    otlpSpans: () => requests.filter((r) => r.path === '/v1/traces').flatMap((r) => (JSON.parse(r.raw) as OtlpBody).resourceSpans.flatMap((rs) => {
      const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? ''
      return rs.scopeSpans.flatMap((ss) => ss.spans.map((s) => ({ ...s, service })))
    })),
    async stop() { await server.stop(true) },
  }
}
