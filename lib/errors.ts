// The two GoTrue error shapes. Features throw these; lib/http.ts renders them (the one renderer, for every app and
// for the multi-instance dispatcher).
//   HttpError  → {"code": <status>, "msg": "…"} (+ "error_id" on 5xx, the request id)
//   OAuthError → {"error": "invalid_grant", "error_description": "…"} with status 400 (the /token contract)
import { t } from 'elysia'

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly msg: string,
    readonly cause?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(msg)
  }
}

export class OAuthError extends Error {
  readonly status = 400
  constructor(readonly error: string, readonly description = '', readonly headers?: Record<string, string>) {
    super(description || error)
  }
}

export const badRequest = (msg: string) => new HttpError(400, msg)
export const unauthorized = (msg: string, headers?: Record<string, string>) => new HttpError(401, msg, undefined, headers)
export const forbidden = (msg: string) => new HttpError(403, msg)
export const notFound = (msg: string) => new HttpError(404, msg)
export const unprocessable = (msg: string) => new HttpError(422, msg)
export const tooManyRequests = (msg: string, retryAfterSec?: number) =>
  new HttpError(429, msg, undefined, retryAfterSec ? { 'Retry-After': String(Math.ceil(retryAfterSec)) } : undefined)
/** An error that names supabase/auth's `error_code` for it (lib/dialect.ts shows it to supabase clients). */
export const withErrorCode = (e: HttpError, code: string): HttpError => Object.assign(e, { errorCode: code })
/** 500: the client sees `msg` and an error_id; `cause` goes to the log only. */
export const internal = (msg: string, cause?: unknown) => new HttpError(500, msg, cause)
export const unavailable = (msg = 'Service temporarily unavailable', cause?: unknown) => new HttpError(503, msg, cause)

/** Response models, shared by every route's `response` map. */
export const ErrorBody = t.Object(
  { code: t.Integer(), msg: t.String(), error_id: t.Optional(t.String()) },
  { description: 'GoTrue error', examples: [{ code: 422, msg: 'Signup requires a valid password' }] },
)
export const OAuthErrorBody = t.Object(
  { error: t.UnionEnum(['invalid_grant', 'invalid_request', 'unsupported_grant_type']), error_description: t.Optional(t.String()) },
  { description: 'OAuth2 error', examples: [{ error: 'invalid_grant', error_description: 'Invalid Refresh Token' }] },
)
/** ErrorBody with a route's own example for one status (the OpenAPI document shows it for that status). */
export const errorBody = (code: number, msg: string) =>
  t.Object(ErrorBody.properties, { description: 'GoTrue error', examples: [{ code, msg }] })
