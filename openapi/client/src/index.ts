// A thin typed client for the GoTrue API. Every type comes from the OpenAPI document (./schema.ts, generated);
// this file adds only what the document cannot say: /token takes a form body, the session's tokens go into the
// Authorization header, the access token is refreshed shortly before it expires, and an error is a value (the
// GoTrue `{ code, msg }` or OAuth `{ error, error_description }` body), never a throw. `api` is the underlying
// openapi-fetch client, with the same bearer handling, for every other route (admin, sessions, …).
//
// Why refresh before expiry and not on a 401: a 401 for a token that is not yet expired means its session was
// ended (logout elsewhere, a password change, an admin), so a refresh would fail as well; and replaying a request
// after a 401 would send a write (PUT /user with a new password) twice. Expiry is known in advance
// (`expires_in`, counted on this client's clock, so the server's clock does not matter).
// The only importer of openapi-fetch.
import createFetchClient, { type Client, type Middleware } from 'openapi-fetch'
import type { components, paths } from './schema.js'

export type { components, paths } from './schema.js'
export type Schemas = components['schemas']
/** The JSON body of a route's 200 and of its request, by path (component names are the server's to change). */
export type Ok<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never
export type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never
export type User = Ok<'/user', 'get'>
export type Tokens = Ok<'/token', 'post'>
export type Settings = Ok<'/settings', 'get'>
/** GoTrue's error body: an integer `code` (the HTTP status) and a message meant for people. */
export type GoTrueError = Schemas['GoTrueError']
/** The OAuth2 error body that /token answers when a grant fails. */
export type OAuthError = Schemas['OAuthError']
/** What a failed call gives: the HTTP status and the body the server sent. */
export type ApiError = { status: number } & (GoTrueError | OAuthError)
/** A call's outcome: the data, or the error (check `error` first; TypeScript narrows `data` after). */
export type Result<T> = { data: T; error?: undefined } | { data?: undefined; error: ApiError }

export type SignupParams = Body<'/signup', 'post'> & { email: string; password: string; data?: Record<string, unknown> }
export type VerifyParams = { type: 'signup' | 'invite' | 'recovery' | 'email_change'; token: string; password?: string }
export type UserUpdate = Body<'/user', 'put'> & { data?: Record<string, unknown> }
/** One grant of /token's body. Members without a `grant_type` are dropped: openapi-typescript writes a schema's
 *  `anyOf` of required fields (the password grant's `username` or `email`) as extra union members of their own. */
export type TokenGrant = Extract<NonNullable<paths['/token']['post']['requestBody']>['content']['application/x-www-form-urlencoded'], { grant_type: string }>

export interface ClientOptions {
  /** The API's base URL, e.g. https://example.com/.netlify/identity */
  url: string
  /** A fetch of your own (tests, SSR); default globalThis.fetch. */
  fetch?: typeof fetch
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number
  /** Refresh this many seconds before the access token expires (default 60). */
  refreshMargin?: number
  /** Told whenever the session changes (login, refresh, logout): store it to resume with `setSession`. */
  onSession?: (session: Session | null) => void
}

/** The tokens of a logged-in client, with the time the access token expires in ms on this client's clock
 *  (counted from `expires_in` at receipt, so a skewed clock here or on the server does not matter). */
export interface Session extends Tokens { expiry: number }

export const isOAuthError = (e: ApiError): e is { status: number } & OAuthError => 'error' in e
/** The message to show a person: GoTrue's `msg`, or OAuth's description (its code when it has none). */
export const errorMessage = (e: ApiError): string => isOAuthError(e) ? e.error_description ?? e.error : e.msg

/** The error body of a failed response; a body that is neither shape (a proxy's HTML page) becomes GoTrue's. */
function toError(status: number, body: unknown, text?: string): ApiError {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    if (typeof b.error === 'string') return { status, ...(b as OAuthError) }
    if (typeof b.msg === 'string') return { status, code: typeof b.code === 'number' ? b.code : status, msg: b.msg, ...(typeof b.error_id === 'string' ? { error_id: b.error_id } : {}) }
  }
  return { status, code: status, msg: text || `HTTP ${status}` }
}

async function settle<T>(p: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<Result<T>> {
  try {
    const { data, error, response } = await p
    if (response.ok) return { data: data as T }
    return { error: toError(response.status, error, typeof error === 'string' ? error : undefined) }
  } catch (e) {
    // the network: no status; 0 as fetch's opaque responses have it
    return { error: { status: 0, code: 0, msg: e instanceof Error ? e.message : String(e) } }
  }
}

const form = (body: unknown) => new URLSearchParams(body as Record<string, string>)
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

export function createClient(opts: ClientOptions) {
  const now = opts.now ?? Date.now
  const margin = (opts.refreshMargin ?? 60) * 1000
  let session: Session | null = null
  let refreshing: Promise<Result<Tokens>> | null = null

  const api: Client<paths> = createFetchClient<paths>({ baseUrl: opts.url.replace(/\/+$/, ''), fetch: opts.fetch })

  const setSession = (s: Session | Tokens | null) => {
    session = s === null ? null : { ...s, expiry: 'expiry' in s ? s.expiry : now() + s.expires_in * 1000 }
    opts.onSession?.(session)
  }

  // one refresh at a time: calls made while it runs wait for it (the refresh token rotates, so a second
  // refresh with the same token would end the session as a reuse)
  const refresh = (): Promise<Result<Tokens>> => {
    if (!session) return Promise.resolve({ error: { status: 401, code: 401, msg: 'Not logged in' } })
    const refresh_token = session.refresh_token
    refreshing ??= token({ grant_type: 'refresh_token', refresh_token }).finally(() => { refreshing = null })
    return refreshing
  }

  const bearer: Middleware = {
    async onRequest({ request, schemaPath }) {
      if (!session || request.headers.has('authorization') || schemaPath === '/token') return
      if (now() >= session.expiry - margin) await refresh()
      if (session) request.headers.set('authorization', `Bearer ${session.access_token}`)
      return request
    },
  }
  api.use(bearer)

  async function token(grant: TokenGrant): Promise<Result<Tokens>> {
    const r = await settle<Tokens>(api.POST('/token', { body: grant, bodySerializer: form, headers: FORM }))
    if (r.data) setSession(r.data)
    // a refresh token the server refused will not work later either
    else if (grant.grant_type === 'refresh_token' && r.error.status === 400) setSession(null)
    return r
  }

  return {
    /** The openapi-fetch client: any route, typed from the document, with this client's bearer token. */
    api,
    get session(): Session | null { return session },
    setSession,
    settings: () => settle<Settings>(api.GET('/settings')),
    signup: (body: SignupParams) => settle<Ok<'/signup', 'post'>>(api.POST('/signup', { body })),
    /** Consumes a mailed token; logs in. */
    async verify(body: VerifyParams): Promise<Result<Tokens>> {
      const r = await settle<Tokens>(api.POST('/verify', { body }))
      if (r.data) setSession(r.data)
      return r
    },
    login: (email: string, password: string) => token({ grant_type: 'password', username: email, password }),
    /** Any grant, sent as the form body OAuth2 specifies; a success becomes the session. */
    token,
    refresh,
    recover: (email: string) => settle<Ok<'/recover', 'post'>>(api.POST('/recover', { body: { email } })),
    user: () => settle<User>(api.GET('/user')),
    updateUser: (body: UserUpdate) => settle<User>(api.PUT('/user', { body })),
    /** Ends the session on the server (scope: this one, all of the user's, or all but this one) and forgets it. */
    async logout(scope: 'global' | 'local' | 'others' = 'global'): Promise<Result<null>> {
      const r = await settle<null>(api.POST('/logout', { params: { query: { scope } }, parseAs: 'text' }))
      if (!r.error || r.error.status === 401) setSession(null)
      return r.error ? r : { data: null }
    },
  }
}

export type GoTrueClient = ReturnType<typeof createClient>
