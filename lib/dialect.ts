// Two client families, one API. Netlify's gotrue-js and identity widget speak GoTrue; @supabase/auth-js speaks the
// dialect of supabase/auth, GoTrue's maintained fork. The features answer in GoTrue's shapes and this file is the
// one place that turns an answer into supabase's, for a client that speaks it:
//   - a session (token response) gains `expires_at` and `user`,
//   - a user gains supabase's fields (`email_confirmed_at`, `identities`, `is_anonymous`, `phone`),
//   - an error gains `error_code` (supabase's stable strings, which auth-js exposes as `error.code`) beside
//     GoTrue's `code`/`msg` or `error`/`error_description`, which stay as they are.
// GoTrue's clients get GoTrue's bytes, key for key: the contract pins exact key sets, and a client written against
// it (a typed one, a strict decoder) must not meet keys it never agreed to. A supabase client is told apart by the
// header every auth-js request carries (X-Supabase-Api-Version) or supabase-js's `apikey`.
import { sha256 } from './crypto.ts'
import { HttpError, OAuthError } from './errors.ts'
import type { UserJson } from './users.ts'

export const speaksSupabase = (request: Request): boolean =>
  request.headers.has('x-supabase-api-version') || request.headers.has('apikey')

/** What a session carries besides GoTrue's four keys, under a symbol: JSON never shows it, the dialect may. */
export const SESSION_EXTRA = Symbol('session extra')
export interface SessionExtra { user: UserJson; expires_at: number }

/** A user whose request also signed them in (supabase's signup with autoconfirm): the dialect answers the session. */
const SIGNED_IN = Symbol('signed in')
export const withSession = <U extends object>(user: U, session: object): U => Object.assign(user, { [SIGNED_IN]: session })

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isUser = (v: Record<string, unknown>): boolean =>
  typeof v.id === 'string' && typeof v.aud === 'string' && isObject(v.app_metadata) && isObject(v.user_metadata)

/** A stable UUID-shaped id for a (user, provider) identity: identities have no table of their own here. */
const identityId = (userId: string, provider: string): string => {
  const h = sha256(`identity:${userId}:${provider}`)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** supabase's user: GoTrue's fields plus the ones auth-js reads. Identities come from app_metadata's providers. */
export function supabaseUser(u: Record<string, unknown>): Record<string, unknown> {
  const app = u.app_metadata as Record<string, unknown>
  const listed = Array.isArray(app.providers) ? app.providers.filter((p): p is string => typeof p === 'string') : []
  const providers = listed.length ? listed : [typeof app.provider === 'string' ? app.provider : 'email']
  const email = typeof u.email === 'string' ? u.email : ''
  const identities = providers.map((provider) => ({
    identity_id: identityId(String(u.id), provider), id: u.id, user_id: u.id, provider, email,
    identity_data: { sub: u.id, email, email_verified: Boolean(u.confirmed_at), phone_verified: false },
    ...(u.last_sign_in_at !== undefined && { last_sign_in_at: u.last_sign_in_at }),
    created_at: u.created_at, updated_at: u.updated_at,
  }))
  return {
    ...u, ...(u.confirmed_at !== undefined && { email_confirmed_at: u.confirmed_at }),
    phone: '', is_anonymous: false, identities,
  }
}

/** A handler's answer in supabase's shape (a session, a user, or a list of users); anything else as it is. */
export function toSupabase(value: unknown): unknown {
  if (!isObject(value) || value instanceof Response) return value
  const session = (value as { [SIGNED_IN]?: object })[SIGNED_IN]
  if (session) return toSupabase(session)
  if (typeof value.access_token === 'string' && typeof value.refresh_token === 'string') {
    const extra = (value as { [SESSION_EXTRA]?: SessionExtra })[SESSION_EXTRA]
    return extra ? { ...value, expires_at: extra.expires_at, user: supabaseUser(extra.user) } : value
  }
  if (isUser(value)) return supabaseUser(value)
  if (Array.isArray(value.users)) return { ...value, users: value.users.map((u) => (isObject(u) && isUser(u) ? supabaseUser(u) : u)) }
  return value
}

// supabase/auth's error codes (internal/api/apierrors/errorcode.go), by the messages this server gives. First
// match wins; then the status decides.
const BY_MESSAGE: [RegExp, string][] = [
  [/^No user found with that email, or password invalid/, 'invalid_credentials'],
  [/^Email not confirmed$/, 'email_not_confirmed'],
  [/^A user with this email address has already been registered$/, 'user_already_exists'],
  [/^Email address already registered by another user$/, 'email_exists'],
  [/^Password (should be at least|cannot be longer)/, 'weak_password'],
  [/^Signups not allowed/, 'signup_disabled'],
  [/^Unsupported email provider$/, 'email_provider_disabled'],
  [/^Invalid Refresh Token: Session Expired/, 'session_expired'],
  [/^(Invalid Refresh Token|Refresh token expired)/, 'refresh_token_not_found'],
  [/^Invalid token: session has ended$/, 'session_not_found'],
  [/^Invalid token/, 'bad_jwt'],
  [/^This endpoint requires a Bearer token$/, 'no_authorization'],
  [/^(User not allowed|Invalid admin user|Updating app_metadata requires admin)/, 'not_admin'],
  [/^User not found$/, 'user_not_found'],
  [/token expired$|^Authorization code expired$|^Token has expired or is invalid$/, 'otp_expired'],
  [/^Unable to validate email address/, 'email_address_invalid'],
  [/^(Could not parse request body|Could not read)/, 'bad_json'],
  [/^Request body too large/, 'request_entity_too_large'],
]
/** Routes whose 429 is a mail budget (supabase tells it apart from the request budget). */
const MAIL_ROUTES = /\/(signup|recover|otp|resend|magiclink|invite|reauthenticate)$/

function errorCodeOf(error: unknown, request: Request): string {
  // An error that names its own code (the MFA routes: lib/mfa.ts) keeps it.
  const own = (error as { errorCode?: unknown } | null)?.errorCode
  if (typeof own === 'string') return own
  if (error instanceof OAuthError) {
    const text = error.description || error.error
    const hit = BY_MESSAGE.find(([re]) => re.test(text))
    if (hit) return hit[1]
    return error.error === 'invalid_grant' ? 'invalid_credentials' : 'validation_failed'
  }
  const status = error instanceof HttpError ? error.status : 500
  const msg = error instanceof HttpError ? error.msg : ''
  const hit = BY_MESSAGE.find(([re]) => re.test(msg))
  if (hit) return hit[1]
  if (status === 429) return MAIL_ROUTES.test(new URL(request.url).pathname) ? 'over_email_send_rate_limit' : 'over_request_rate_limit'
  if (status === 400 || status === 422) return 'validation_failed'
  if (status === 401) return 'no_authorization'
  if (status === 403) return 'not_admin'
  if (status === 404) return 'not_found'
  if (status === 409) return 'conflict'
  return status >= 500 ? 'unexpected_failure' : 'unknown'
}

/** The keys a supabase client gets beside GoTrue's error body: `error_code`, and for a weak password the
 *  `weak_password.reasons` auth-js puts on AuthWeakPasswordError. */
export function supabaseErrorFields(error: unknown, request: Request): Record<string, unknown> {
  const code = errorCodeOf(error, request)
  if (code !== 'weak_password') return { error_code: code }
  const msg = error instanceof HttpError ? error.msg : ''
  return { error_code: code, weak_password: { reasons: [/^Password should be at least/.test(msg) ? 'length' : 'characters'] } }
}
