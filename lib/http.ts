// What every answer of this server shares, routed or not: the base headers (CORS as the reference's rs/cors
// gives them, any origin; the request id; `Cache-Control: no-store`), the CORS preflight, and the ONE renderer of
// errors in GoTrue's two shapes. lib/hooks.ts renders through it for every app, and bin/multi.ts for a request
// it refuses before any app took it, so both answer alike.
//   HttpError  → {"code": <status>, "msg": "…"} (+ "error_id" = the request id on 5xx, with a log line)
//   OAuthError → {"error": "…", "error_description": "…"} with status 400 (the /token contract)
import { DbUnavailable } from './db/index.ts'
import { speaksSupabase, supabaseErrorFields } from './dialect.ts'
import { HttpError, OAuthError } from './errors.ts'
import type { Logger } from './log.ts'

// GoTrue's clients' headers, and the ones supabase's send (auth-js: X-Client-Info, X-Supabase-Api-Version;
// supabase-js adds apikey). GOTRUE_CORS_ALLOWED_HEADERS adds more.
const ALLOWED_HEADERS = [
  'accept', 'authorization', 'content-type', 'x-jwt-aud', 'x-use-cookie', 'x-nf-sign', 'x-nf-client', 'x-requested-with',
  'apikey', 'x-client-info', 'x-supabase-api-version',
]
const CORS_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE'])

/** The request's id: the one the client (or its proxy) sent in the configured header, else a fresh one. */
export const requestIdOf = (request: Request, idHeader: string): string =>
  (idHeader && request.headers.get(idHeader)?.slice(0, 200)) || crypto.randomUUID()

export function baseHeaders(request: Request, id: string): Record<string, string> {
  const h: Record<string, string> = { vary: 'Origin', 'cache-control': 'no-store', 'x-request-id': id }
  if (request.headers.get('origin') && CORS_METHODS.has(request.method)) {
    h['access-control-allow-origin'] = '*'
    h['access-control-allow-credentials'] = 'true'
  }
  return h
}

export const json = (status: number, body: unknown, headers: Record<string, string>): Response =>
  new Response(JSON.stringify(body), { status, headers: { ...headers, 'content-type': 'application/json' } })

/** A CORS preflight's answer, as rs/cors gives it: the method and headers asked for, when all are allowed
 *  (the built-in list, or `extra`: GOTRUE_CORS_ALLOWED_HEADERS, lower-cased). */
export function preflight(request: Request, extra: readonly string[] = []): Response {
  const method = request.headers.get('access-control-request-method')?.toUpperCase() ?? ''
  const asked = (request.headers.get('access-control-request-headers') ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean)
  const h: Record<string, string> = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' }
  if (CORS_METHODS.has(method) && asked.every((x) => ALLOWED_HEADERS.includes(x) || extra.includes(x))) {
    h['access-control-allow-origin'] = '*'
    h['access-control-allow-methods'] = method
    h['access-control-allow-credentials'] = 'true'
    if (asked.length) h['access-control-allow-headers'] = asked.join(', ')
  }
  return new Response(null, { status: 204, headers: h })
}

export interface ErrorContext { request: Request; id: string; log: Logger; /** the framework's name for the error, for the log */ code?: unknown }

/** The error as the client sees it. A 5xx carries `error_id` (the request id) and is logged with its cause,
 *  which never reaches the client; anything not thrown as one of our errors is a 500 "Internal server error". */
export function renderError(error: unknown, { request, id, log, code }: ErrorContext): Response {
  const { status, body, headers } = errorParts(error, { request, id, log, code })
  // A supabase client gets supabase's error fields beside GoTrue's (lib/dialect.ts); GoTrue's clients, GoTrue's body.
  if (speaksSupabase(request)) Object.assign(body, supabaseErrorFields(error, request))
  return json(status, body, headers)
}

function errorParts(error: unknown, { request, id, log, code }: ErrorContext): { status: number; body: Record<string, unknown>; headers: Record<string, string> } {
  const headers = baseHeaders(request, id)
  if (error instanceof OAuthError) {
    const body: Record<string, unknown> = { error: error.error }
    if (error.description) body.error_description = error.description
    return { status: 400, body, headers: { ...headers, ...error.headers } }
  }
  if (error instanceof HttpError) {
    const body: Record<string, unknown> = { code: error.status, msg: error.msg }
    if (error.status >= 500) {
      body.error_id = id
      log.error(error.msg, { request_id: id, error: error.cause instanceof Error ? error.cause.message : error.cause })
    }
    return { status: error.status, body, headers: { ...headers, ...error.headers } }
  }
  if (error instanceof DbUnavailable) {
    log.error('database unavailable', { request_id: id, error: error.message })
    return { status: 503, body: { code: 503, msg: 'Database temporarily unavailable', error_id: id }, headers: { ...headers, 'retry-after': '1' } }
  }
  log.error('unhandled error', {
    request_id: id, ...(code !== undefined && { code }),
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), stack: error instanceof Error ? error.stack : undefined,
  })
  return { status: 500, body: { code: 500, msg: 'Internal server error', error_id: id }, headers }
}
