// Elysia lifecycle hooks for every route (global scope): CORS as the reference (rs/cors, any origin), the
// request id, the body cap, `Cache-Control: no-store`, the one place errors are rendered in GoTrue's two
// shapes, and the access log. (Outgoing GoTrue webhooks live in lib/webhooks.ts; this file is HTTP plumbing.)
import { Elysia, ValidationError } from 'elysia'
import { DbUnavailable } from './db/index.ts'
import type { Deps } from './deps.ts'
import { HttpError, OAuthError } from './errors.ts'
import type { Span } from './tracing.ts'

const ALLOWED_METHODS = 'GET, POST, PUT, DELETE'
const ALLOWED_HEADERS = ['accept', 'authorization', 'content-type', 'x-jwt-aud', 'x-use-cookie', 'x-nf-sign', 'x-nf-client', 'x-requested-with']
const CORS_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE'])

interface ReqInfo { id: string; start: number; status?: number; span?: Span; begun?: boolean }
const info = new WeakMap<Request, ReqInfo>()
export const requestId = (r: Request): string => info.get(r)?.id ?? ''

function baseHeaders(request: Request, id: string): Record<string, string> {
  const h: Record<string, string> = { vary: 'Origin', 'cache-control': 'no-store', 'x-request-id': id }
  if (request.headers.get('origin') && CORS_METHODS.has(request.method)) {
    h['access-control-allow-origin'] = '*'
    h['access-control-allow-credentials'] = 'true'
  }
  return h
}

function json(status: number, body: unknown, headers: Record<string, string>, request?: Request): Response {
  const i = request && info.get(request)
  if (i) i.status = status
  return new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json' } })
}

/** Turns Elysia's validation detail into one readable line naming the field. Elysia's summaries interpolate the
 *  value (`${value}`), which throws for a value with its own `toString` key or arrays nested thousands deep: then
 *  TypeBox's own error (path and message, no value) is used. */
function validationMessage(e: ValidationError): string {
  let first: { path?: string; message?: string; summary?: string } | undefined
  try { first = e.all[0] } catch { first = e.valueError }
  if (!first) return `Invalid ${e.type}`
  const field = first.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : e.type
  const msg = `Invalid ${e.type}: ${field}: ${first.summary ?? first.message ?? 'invalid value'}`.replace(/\s+/g, ' ')
  return msg.length > 300 ? `${msg.slice(0, 300)}…` : msg // the summary quotes the value, which may be a megabyte
}

/** Request JSON nested deeper than 64 levels (System.Text.Json's default) is refused before any handler. The
 *  reference (Go's encoding/json) allows 10,000, but here depth is a cost: JSON.parse accepts any depth while
 *  storing ~50,000 levels (JSON.stringify) overflows the stack (a 500), and outside NODE_ENV=production Elysia
 *  pretty-prints the whole body into every validation error, quadratic in depth (a 900 KB body of 5,000-level
 *  chains cost 7.8 s of CPU; at 64 levels a failed 1 MB body costs about twice a flat one). No metadata needs
 *  more. Iterative, so the check itself cannot overflow. */
const MAX_DEPTH = 64
function tooDeep(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return false
  const stack: [object, number][] = [[value, 1]]
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top
    if (depth > MAX_DEPTH) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}

const tooLarge = (max: number) => new HttpError(413, `Request body too large (limit ${max} bytes)`)

/** Bun's own cap (`maxRequestBodySize`), for both listeners. Bun answers a body over it with a bare 413 and no
 *  JSON: before any handler for a declared length, and in place of the handler's answer for a chunked one
 *  (Bun 1.4 counts chunked bytes too). GOTRUE_API_MAX_BODY_BYTES itself is enforced by the parse hook with
 *  GoTrue's JSON 413 whatever the framing, so Bun's cap sits above it: a client that declares up to twice the
 *  limit still gets a readable error, and what a connection can make the server buffer stays within 2x the cap. */
export const serverBodyLimit = (maxBody: number): number => 2 * maxBody

/** Reads a body without a declared length, counting its bytes: over `max`, the read stops and the request gets
 *  the JSON 413. The bytes read become the request's body for Elysia's parsers (json, text, urlencoded, form
 *  data, as for any request): its body methods are shadowed on this one Request, so the object (and what is
 *  keyed by it: the request id, the client address) stays the same. */
async function bufferCapped(request: Request, max: number): Promise<undefined> {
  const reader = (request.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength
    if (size > max) {
      void reader.cancel().catch(() => {})
      throw tooLarge(max)
    }
    chunks.push(r.value)
  }
  const copy = new Response(Buffer.concat(chunks), { headers: request.headers })
  for (const m of ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const) {
    Object.defineProperty(request, m, { value: () => copy[m](), configurable: true })
  }
  return undefined
}

/** A CORS preflight's answer, as rs/cors gives it: the method and headers asked for, when all are allowed. */
function preflight(request: Request): Response {
  const method = request.headers.get('access-control-request-method')?.toUpperCase() ?? ''
  const asked = (request.headers.get('access-control-request-headers') ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean)
  const h: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' }
  if (CORS_METHODS.has(method) && asked.every((x) => ALLOWED_HEADERS.includes(x))) {
    h['access-control-allow-origin'] = '*'
    h['access-control-allow-methods'] = method
    h['access-control-allow-credentials'] = 'true'
    if (asked.length) h['access-control-allow-headers'] = asked.join(', ')
  }
  return new Response(null, { status: 204, headers: h })
}

// No onRequest hook (issue 8): a global onRequest made Elysia build every request's context before routing and
// run it on every route, about a fifth of GET /user's CPU in a profile. Its work is done where it is needed:
// the body cap in onParse (only requests with a body, before it is read), the request id, the common headers and
// the root span in onTransform (every routed request), and a preflight (OPTIONS matches no route) in onError.
export function hooks(deps: Deps) {
  const { config, log, tracer } = deps
  const maxBody = config.api.max_body_bytes
  const idHeader = config.api.request_id_header.toLowerCase()
  /** The request's id and start time, made by the first hook that sees the request. */
  const ensure = (request: Request): ReqInfo => {
    let i = info.get(request)
    if (!i) {
      i = { id: (idHeader && request.headers.get(idHeader)?.slice(0, 200)) || crypto.randomUUID(), start: performance.now() }
      info.set(request, i)
    }
    return i
  }
  const startSpan = (request: Request, i: ReqInfo): Span => {
    // Spec §13: one root span per request.
    const nf = request.headers.get('x-nf-client')
    return tracer.startSpan('http.handler', {
      'http.method': request.method, 'http.url': new URL(request.url).pathname, 'http.request_id': i.id, ...(nf !== null && { 'nf.client': nf }),
    }, { type: 'web', kind: 'server', root: true })
  }
  return new Elysia({ name: 'hooks' })
    .onParse({ as: 'global' }, ({ request }) => {
      ensure(request) // the request's time starts before its body is read
      const declared = request.headers.get('content-length')
      if (declared !== null) {
        // Bun holds a body to its declared length (and refuses one that also says Transfer-Encoding).
        if (Number(declared) > maxBody) throw tooLarge(maxBody)
        return undefined // Elysia's own parsers read the body
      }
      // No declared length (chunked): count the bytes as they arrive, then let Elysia's parsers read the copy.
      return request.body ? bufferCapped(request, maxBody) : undefined
    })
    .onTransform({ as: 'global' }, ({ request, set, body }) => {
      const i = ensure(request)
      if (!i.begun) {
        i.begun = true
        Object.assign(set.headers, baseHeaders(request, i.id))
        if (tracer.enabled) {
          // enterWith (a synchronous hook, run inline before the handler) makes the root span the current one for
          // everything the handler awaits, so SQL/mail/webhook spans nest under it.
          i.span = startSpan(request, i)
          tracer.enter(i.span)
        }
      }
      if (tooDeep(body)) throw new HttpError(400, `Could not parse request body: JSON nested deeper than ${MAX_DEPTH} levels`)
    })
    .onError({ as: 'global' }, ({ request, error: raised, code }) => {
      const i = ensure(request)
      // Elysia wraps whatever the parse phase throws (our 413 included) in a ParseError: the cause is the error.
      let error = code === 'PARSE' && (raised as Error).cause instanceof HttpError ? (raised as Error).cause as HttpError : raised
      // The body cap holds for every request, routed or not (the parse hook only sees routes that read a body).
      if (code === 'NOT_FOUND' && Number(request.headers.get('content-length') ?? 0) > maxBody) error = tooLarge(maxBody)
      if (tracer.enabled && !i.span) i.span = startSpan(request, i)
      // OPTIONS matches no route: a preflight for any path is answered here, as the reference's CORS middleware does.
      if (code === 'NOT_FOUND' && request.method === 'OPTIONS' && request.headers.get('access-control-request-method')) {
        i.status = 204
        return preflight(request)
      }
      const id = i.id
      const headers = baseHeaders(request, id)
      if (error instanceof OAuthError) {
        const body: Record<string, string> = { error: error.error }
        if (error.description) body.error_description = error.description
        return json(400, body, { ...headers, ...error.headers }, request)
      }
      if (error instanceof HttpError) {
        const body: Record<string, unknown> = { code: error.status, msg: error.msg }
        if (error.status >= 500) {
          body.error_id = id
          log.error(error.msg, { request_id: id, error: error.cause instanceof Error ? error.cause.message : error.cause })
        }
        return json(error.status, body, { ...headers, ...error.headers }, request)
      }
      if (error instanceof DbUnavailable) {
        log.error('database unavailable', { request_id: id, error: error.message })
        return json(503, { code: 503, msg: 'Database temporarily unavailable', error_id: id }, { ...headers, 'retry-after': '1' }, request)
      }
      switch (code) {
        case 'VALIDATION': return json(422, { code: 422, msg: validationMessage(error as ValidationError) }, headers, request)
        case 'PARSE': return json(400, { code: 400, msg: `Could not parse request body: ${(error as Error).message}` }, headers, request)
        case 'NOT_FOUND': return json(404, { code: 404, msg: '404 page not found' }, headers, request)
      }
      if (typeof code === 'number' && code < 500) return json(code, { code, msg: String((error as unknown as Error).message ?? 'Error') }, headers, request)
      // The same interpolation inside `new ValidationError` (outside NODE_ENV=production) makes the constructor itself
      // throw, so the failed validation arrives here as a TypeError or RangeError: it is still the client's 422.
      if ((error instanceof TypeError || error instanceof RangeError) && /\b(?:mapValueError|ValidationError)\b/.test(error.stack ?? '')) {
        return json(422, { code: 422, msg: 'Invalid request: a value has the wrong type' }, headers, request)
      }
      log.error('unhandled error', { request_id: id, code, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), stack: error instanceof Error ? error.stack : undefined })
      return json(500, { code: 500, msg: 'Internal server error', error_id: id }, headers, request)
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, path, route, responseValue }) => {
      const i = info.get(request)
      // A handler that returns a Response (logout's 204) leaves set.status at 200: its own status is the truth.
      const status = Number(i?.status ?? (responseValue instanceof Response ? responseValue.status : set.status) ?? 200)
      if (i) deps.metrics.observe(route || 'unmatched', request.method, status, (performance.now() - i.start) / 1000)
      if (i?.span) {
        // The route pattern (`/admin/users/:user_id`), not the path: one resource per endpoint, not per user id.
        const resource = `${request.method} ${route || 'unmatched'}`
        i.span.setResource(resource)
        i.span.setTag('resource.name', resource)
        i.span.setTag('http.status_code', String(status))
        if (status >= 500) i.span.setError()
        i.span.finish()
      }
      if (path === '/health' || !log.enabled('info')) return
      log.info('request completed', {
        component: 'api', method: request.method, path, status,
        duration_ms: i ? Math.round((performance.now() - i.start) * 100) / 100 : undefined, request_id: i?.id,
      })
    })
}
