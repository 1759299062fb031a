// Elysia lifecycle hooks for every route (global scope): the request id and start time, the body caps, the base
// headers and the root span, errors rendered through lib/http.ts (with the cases only Elysia knows: validation,
// parse, no route, a preflight), and per request the metrics, the span's end and the access log. (Outgoing GoTrue
// webhooks live in lib/webhooks.ts; this file is HTTP plumbing.)
import { Elysia, ValidationError } from 'elysia'
import { capBody, MAX_DEPTH, tooDeep, tooLarge } from './body.ts'
import { DbUnavailable } from './db/index.ts'
import { speaksSupabase, toSupabase } from './dialect.ts'
import type { Deps } from './deps.ts'
import { HttpError, OAuthError } from './errors.ts'
import { baseHeaders, preflight, renderError, requestIdOf } from './http.ts'
import { flowOf, outcomeOf } from './metrics.ts'
import type { Span } from './tracing.ts'

interface ReqInfo { id: string; start: number; status?: number; span?: Span; begun?: boolean }
const info = new WeakMap<Request, ReqInfo>()

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

/** What Elysia raised, as one of our errors (or as it is, for the renderer's 500). */
function asHttpError(raised: unknown, code: unknown): unknown {
  switch (code) {
    case 'VALIDATION': return new HttpError(422, validationMessage(raised as ValidationError))
    case 'PARSE': return new HttpError(400, `Could not parse request body: ${(raised as Error).message}`)
    case 'NOT_FOUND': return new HttpError(404, '404 page not found')
  }
  if (typeof code === 'number' && code < 500) return new HttpError(code, String((raised as Error).message ?? 'Error'))
  // The same interpolation inside `new ValidationError` (outside NODE_ENV=production) makes the constructor itself
  // throw, so the failed validation arrives here as a TypeError or RangeError: it is still the client's 422.
  if ((raised instanceof TypeError || raised instanceof RangeError) && /\b(?:mapValueError|ValidationError)\b/.test(raised.stack ?? '')) {
    return new HttpError(422, 'Invalid request: a value has the wrong type')
  }
  return raised
}

// No onRequest hook: a global onRequest made Elysia build every request's context before routing and run it on
// every route, about a fifth of GET /user's CPU in a profile. Its work is done where it is needed: the body cap
// in onParse (only requests with a body, before it is read), the request id, the common headers and the root
// span in onTransform (every routed request), and a preflight (OPTIONS matches no route) in onError.
export function hooks(deps: Deps) {
  const { config, log, tracer } = deps
  const maxBody = config.api.max_body_bytes
  const idHeader = config.api.request_id_header.toLowerCase()
  const corsHeaders = config.cors_allowed_headers.map((h) => h.trim().toLowerCase()).filter(Boolean)
  /** The request's id and start time, made by the first hook that sees the request. */
  const ensure = (request: Request): ReqInfo => {
    let i = info.get(request)
    if (!i) {
      i = { id: requestIdOf(request, idHeader), start: performance.now() }
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
      return capBody(request, maxBody) // undefined: Elysia's own parsers read the body
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
    // A supabase client gets each answer in its dialect (lib/dialect.ts); before the response schema, which
    // documents the dialect's keys as optional.
    .onAfterHandle({ as: 'global' }, ({ request, responseValue }) => (speaksSupabase(request) ? toSupabase(responseValue) : undefined))
    .onError({ as: 'global' }, ({ request, error: raised, code }) => {
      const i = ensure(request)
      // Elysia wraps whatever the parse phase throws (our 413 included) in a ParseError: the cause is the error.
      let error: unknown = code === 'PARSE' && (raised as Error).cause instanceof HttpError ? (raised as Error).cause : raised
      // The body cap holds for every request, routed or not (the parse hook only sees routes that read a body).
      if (code === 'NOT_FOUND' && Number(request.headers.get('content-length') ?? 0) > maxBody) error = tooLarge(maxBody)
      if (tracer.enabled && !i.span) i.span = startSpan(request, i)
      // OPTIONS matches no route: a preflight for any path is answered here, as the reference's CORS middleware does.
      if (code === 'NOT_FOUND' && request.method === 'OPTIONS' && request.headers.get('access-control-request-method')) {
        i.status = 204
        return preflight(request, corsHeaders)
      }
      if (!(error instanceof HttpError || error instanceof OAuthError || error instanceof DbUnavailable)) error = asHttpError(error, code)
      const res = renderError(error, { request, id: i.id, log, code })
      i.status = res.status
      return res
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, route, responseValue }) => {
      const i = info.get(request)
      // A handler that returns a Response (logout's 204) leaves set.status at 200: its own status is the truth.
      const status = Number(i?.status ?? (responseValue instanceof Response ? responseValue.status : set.status) ?? 200)
      if (i) deps.metrics.observe(route || 'unmatched', request.method, status, (performance.now() - i.start) / 1000)
      const flow = flowOf(request, route)
      if (flow) deps.metrics.attempt(flow, outcomeOf(status))
      if (i?.span) {
        // The route pattern (`/admin/users/:user_id`), not the path: one resource per endpoint, not per user id.
        const resource = `${request.method} ${route || 'unmatched'}`
        i.span.setResource(resource)
        i.span.setTag('resource.name', resource)
        i.span.setTag('http.status_code', String(status))
        if (status >= 500) i.span.setError()
        i.span.finish()
      }
      // Probes would drown the log. `path` is the route pattern (`/admin/users/:user_id`): the raw path of a
      // route with parameters carries ids (and could carry a token), and Elysia hands it as "" there anyway.
      if (route === '/health' || route === '/health/live' || route === '/health/ready' || !log.enabled('info')) return
      log.info('request completed', {
        component: 'api', method: request.method, path: route || 'unmatched', status,
        duration_ms: i ? Math.round((performance.now() - i.start) * 100) / 100 : undefined, request_id: i?.id,
      })
    })
}
