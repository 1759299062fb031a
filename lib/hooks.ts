// Elysia lifecycle hooks for every route (global scope): CORS as the reference (rs/cors, any origin), the
// request id, the body cap, `Cache-Control: no-store`, the one place errors are rendered in GoTrue's two
// shapes, and the access log. (Outgoing GoTrue webhooks live in lib/webhooks.ts; this file is HTTP plumbing.)
import { Elysia, ValidationError } from 'elysia'
import { DbUnavailable } from './db/index.ts'
import type { Deps } from './deps.ts'
import { HttpError, OAuthError } from './errors.ts'

const ALLOWED_METHODS = 'GET, POST, PUT, DELETE'
const ALLOWED_HEADERS = ['accept', 'authorization', 'content-type', 'x-jwt-aud', 'x-use-cookie', 'x-nf-sign', 'x-nf-client', 'x-requested-with']
const CORS_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE'])

interface ReqInfo { id: string; start: number; status?: number }
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

/** Turns Elysia's validation detail into one readable line naming the field. */
function validationMessage(e: ValidationError): string {
  const first = e.all[0] as { path?: string; message?: string; summary?: string } | undefined
  if (!first) return `Invalid ${e.type}`
  const field = first.path ? first.path.replace(/^\//, '').replace(/\//g, '.') : e.type
  return `Invalid ${e.type}: ${field}: ${first.summary ?? first.message ?? 'invalid value'}`.replace(/\s+/g, ' ')
}

export function hooks(deps: Deps) {
  const { config, log } = deps
  const maxBody = config.api.max_body_bytes
  const idHeader = config.api.request_id_header.toLowerCase()
  return new Elysia({ name: 'hooks' })
    .onRequest(({ request, set }) => {
      const id = (idHeader && request.headers.get(idHeader)?.slice(0, 200)) || crypto.randomUUID()
      info.set(request, { id, start: performance.now() })
      const headers = baseHeaders(request, id)
      if (request.method === 'OPTIONS' && request.headers.get('access-control-request-method')) {
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
      const length = Number(request.headers.get('content-length') ?? 0)
      if (length > maxBody) return json(413, { code: 413, msg: `Request body too large (limit ${maxBody} bytes)` }, headers)
      Object.assign(set.headers, headers)
    })
    .onError({ as: 'global' }, ({ request, error, code }) => {
      const id = requestId(request) || crypto.randomUUID()
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
      log.error('unhandled error', { request_id: id, code, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), stack: error instanceof Error ? error.stack : undefined })
      return json(500, { code: 500, msg: 'Internal server error', error_id: id }, headers, request)
    })
    .onAfterResponse({ as: 'global' }, ({ request, set, path }) => {
      if (path === '/health' || !log.enabled('info')) return
      const i = info.get(request)
      log.info('request completed', {
        component: 'api', method: request.method, path, status: i?.status ?? set.status ?? 200,
        duration_ms: i ? Math.round((performance.now() - i.start) * 100) / 100 : undefined, request_id: i?.id,
      })
    })
}
