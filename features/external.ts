// External sign-in: GET /authorize?provider=… redirects to the provider; GET|POST /callback exchanges the code,
// reads the profile, finds or creates the user and redirects to the site with the session in the URL fragment
// (GoTrue's implicit flow) or, when /authorize was given a PKCE code_challenge, with a one-time ?code= for the
// authorization_code grant of POST /token.
// Safer than the reference: the OAuth state is a random single-use value kept server-side for 5 minutes (so
// tampering, replay and expiry are refused) and bound to the browser that started the flow by an HttpOnly cookie
// (so nobody can finish a sign-in in someone else's browser, nor redeem a leaked callback URL in their own); the
// session lands only on the site's own origin or an allow-listed URL; an existing account is linked only through
// an email the provider marks as verified, unverified provider emails create nothing, and confirming an
// unconfirmed password account through a provider clears the password nobody had proven to own.
import { Elysia, t } from 'elysia'
import { actorOf, type AuditAction, writeAudit } from '../lib/audit.ts'
import type { ProviderName } from '../lib/config.ts'
import { hmac, randomToken, safeEqual, sha256 } from '../lib/crypto.ts'
import { type Db, dbTime, parseTime, UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, HttpError, notFound, unprocessable } from '../lib/errors.ts'
import { consumeOtp, findOtp, findOtpByHash, issueOtp, otpExpired } from '../lib/otp.ts'
import { getProvider, type ProviderUser, ProviderError } from '../lib/providers/index.ts'
import { redirectGuard } from '../lib/redirects.ts'
import { issueSession } from '../lib/sessions.ts'
import { emailKey, findUserByEmail, findUserById, insertUser, mergeMeta, newUserRow, parseMeta, toUser, updateUser, type UserPatch, type UserRow } from '../lib/users.ts'
import { type HookEvent, replyPatch } from '../lib/webhooks.ts'

const STATE_LIFETIME_MS = 5 * 60_000
const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/
const MAX_REFERRER = 2048
const STATE_COOKIE = 'gotrue-oauth-state'

export const AuthorizeQuery = t.Object({
  provider: t.Optional(t.String({ maxLength: 64 })),
  invite_token: t.Optional(t.String({ maxLength: 512 })),
  code_challenge: t.Optional(t.String({ maxLength: 256 })),
  code_challenge_method: t.Optional(t.String({ maxLength: 16 })),
}, { additionalProperties: true })
export const CallbackParams = t.Object({
  state: t.Optional(t.String({ maxLength: 512 })),
  code: t.Optional(t.String({ maxLength: 2048 })),
  error: t.Optional(t.String({ maxLength: 256 })),
  error_description: t.Optional(t.String({ maxLength: 2048 })),
}, { additionalProperties: true })

interface FlowRow {
  id: string; provider: string; provider_code_verifier: string; invite_token_hash: string; referrer: string
  code_challenge: string; code_challenge_method: string; created_at: string
}

async function insertFlow(db: Db, f: Omit<FlowRow, 'id' | 'created_at'> & { instanceId: string; stateHash: string; now: Date }) {
  await db.run(
    'INSERT INTO {flow_states} (id, instance_id, state_hash, provider, provider_code_verifier, invite_token_hash, referrer, code_challenge, code_challenge_method, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [crypto.randomUUID(), f.instanceId, f.stateHash, f.provider, f.provider_code_verifier, f.invite_token_hash, f.referrer, f.code_challenge, f.code_challenge_method, dbTime(f.now)],
  )
}
async function takeFlow(db: Db, instanceId: string, stateHash: string): Promise<FlowRow | null> {
  const row = await db.get<FlowRow>(
    'SELECT id, provider, provider_code_verifier, invite_token_hash, referrer, code_challenge, code_challenge_method, created_at FROM {flow_states} WHERE state_hash = ? AND instance_id = ? FOR UPDATE',
    [stateHash, instanceId],
  )
  if (row) await db.run('DELETE FROM {flow_states} WHERE id = ?', [row.id])
  return row
}
async function findFlowReferrer(db: Db, instanceId: string, stateHash: string): Promise<string | null> {
  const row = await db.get<{ referrer: string }>('SELECT referrer FROM {flow_states} WHERE state_hash = ? AND instance_id = ?', [stateHash, instanceId])
  return row ? row.referrer : null
}
async function purgeFlows(db: Db, before: Date) {
  await db.run('DELETE FROM {flow_states} WHERE created_at < ?', [dbTime(before)])
}
async function findIdentityUserId(db: Db, instanceId: string, provider: string, providerId: string): Promise<string | null> {
  const row = await db.get<{ user_id: string }>('SELECT user_id FROM {identities} WHERE instance_id = ? AND provider = ? AND provider_id = ?', [instanceId, provider, providerId])
  return row?.user_id ?? null
}
async function insertIdentity(db: Db, instanceId: string, userId: string, provider: string, pu: ProviderUser, email: string, now: Date) {
  await db.run(
    'INSERT INTO {identities} (id, instance_id, user_id, provider, provider_id, email, identity_data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [crypto.randomUUID(), instanceId, userId, provider, pu.id, email, JSON.stringify({ ...pu.metadata, emails: pu.emails }), dbTime(now), dbTime(now)],
  )
}

/** A failure shown to the site as `#error=…&error_description=…` (GoTrue's callback contract). */
class RedirectError extends Error {
  constructor(readonly code: string, readonly description: string) { super(description) }
}
/** The transaction found another user than the one the hooks were told about: it is rolled back and redone. */
class RaceLost extends Error {}
const OAUTH_CODE: Record<number, string> = { 400: 'invalid_request', 401: 'unauthorized_client', 403: 'access_denied', 500: 'server_error', 503: 'temporarily_unavailable' }

export function external(deps: Deps) {
  const { config, db, clock, instanceId, log, webhooks } = deps
  const allowedRedirect = redirectGuard(config)
  /** Where a flow's outcome is shown: the operator's fixed URL, else the page that started it when that page is
   *  on the site or allow-listed, else SITE_URL. */
  const landingFor = (referrer: string) => config.external.redirect_url || allowedRedirect(referrer) || config.site_url

  /** The state cookie's value for a state: keyed with the site's signing secret, so knowing the state (a leaked
   *  callback URL) does not give it. */
  const stateProof = (state: string) => hmac(config.jwt.secret, `oauth-state:${state}`)
  /** The cookie is sent only to the callback: its path and scheme are those of the provider's redirect URI. */
  function stateCookie(provider: ProviderName, value: string, maxAge: number): string {
    let path = '/', secure = config.site_url.startsWith('https:')
    try {
      const callbackUrl = new URL(config.external[provider].redirect_uri)
      path = callbackUrl.pathname
      secure = callbackUrl.protocol === 'https:'
    } catch { /* refused by the provider anyway */ }
    return `${STATE_COOKIE}=${value}; Path=${path}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
  }
  function fromStarter(cookieHeader: string | undefined, state: string): boolean {
    const proof = stateProof(state)
    return (cookieHeader ?? '').split(';').some((c) => {
      const [name, ...value] = c.trim().split('=')
      return name === STATE_COOKIE && safeEqual(value.join('='), proof)
    })
  }

  /** Finds, links or creates the user for a provider profile, inside the callback's transaction. */
  async function resolveUser(tx: Db, flow: FlowRow, pu: ProviderUser, now: Date, newId?: string): Promise<UserRow> {
    const provider = flow.provider
    const verified = pu.emails.filter((e) => e.verified)
    // Provider metadata (full_name, avatar_url, slug) is stored only when GOTRUE_USER_DATA_SCHEMA accepts it.
    const meta = deps.validateUserData?.(pu.metadata) ? {} : pu.metadata
    const audit = (u: UserRow, action: AuditAction) => writeAudit(tx, instanceId, actorOf(u), action, now)
    if (flow.invite_token_hash) {
      const otp = await findOtpByHash(tx, instanceId, ['invite', 'confirmation'], flow.invite_token_hash)
      const user = otp && (await findUserById(tx, instanceId, otp.user_id))
      if (!otp || !user) throw new RedirectError('server_error', 'User not found')
      if (otpExpired(config, otp, now)) throw new RedirectError('invalid_request', 'Confirmation token expired')
      const match = verified.find((e) => emailKey(e.email) === emailKey(user.email))
      if (!match) throw new RedirectError('invalid_request', 'Invited email does not match emails from external provider')
      await consumeOtp(tx, otp.id)
      if (!(await findIdentityUserId(tx, instanceId, provider, pu.id))) await insertIdentity(tx, instanceId, user.id, provider, pu, match.email, now)
      await audit(user, 'invite_accepted')
      return updateUser(tx, user, {
        confirmed_at: user.confirmed_at ?? dbTime(now),
        // as below: a pending signup's password may have been chosen by someone who never owned the address
        ...(user.confirmed_at ? {} : { encrypted_password: '' }),
        raw_app_meta_data: JSON.stringify({ ...parseMeta(user.raw_app_meta_data), provider }),
        raw_user_meta_data: JSON.stringify(mergeMeta(parseMeta(user.raw_user_meta_data), meta)),
      }, now)
    }
    const linkedId = await findIdentityUserId(tx, instanceId, provider, pu.id)
    let user = linkedId ? await findUserById(tx, instanceId, linkedId) : null
    if (!user) {
      for (const e of verified) {
        user = await findUserByEmail(tx, instanceId, config.jwt.aud, e.email)
        if (user) {
          await insertIdentity(tx, instanceId, user.id, provider, pu, e.email, now)
          break
        }
      }
    }
    if (user) {
      if (user.confirmed_at) {
        await audit(user, 'login')
        return updateUser(tx, user, { last_sign_in_at: dbTime(now) }, now)
      }
      // An unconfirmed password account whose email the provider vouches for: confirm it, and drop the
      // password, which may have been set by someone who never owned the address (pre-hijacking).
      await audit(user, 'user_signedup')
      return updateUser(tx, user, { confirmed_at: dbTime(now), encrypted_password: '', last_sign_in_at: dbTime(now) }, now)
    }
    if (config.disable_signup) throw new RedirectError('access_denied', 'Signups not allowed for this instance')
    const chosen = verified.find((e) => e.primary) ?? verified[0]
    if (!chosen) throw new RedirectError('access_denied', 'Email from external provider is not verified')
    const created = await insertUser(tx, {
      instanceId, id: newId, aud: config.jwt.aud, role: config.jwt.default_group_name, email: chosen.email, encryptedPassword: '',
      appMetadata: { provider }, userMetadata: meta, confirmedAt: now, now,
    })
    await insertIdentity(tx, instanceId, created.id, provider, pu, chosen.email, now)
    await audit(created, 'user_signedup')
    return created
  }

  /** Which webhooks this sign-in fires, predicted from read-only lookups before the transaction (hooks never
   *  run while the database is held): validate+signup for a new user, signup when an account becomes
   *  confirmed (or an invite is accepted), login for a confirmed returning user. Returns the reply's patch and
   *  the id of the user the hooks were told about (none when no hook was sent). */
  async function runHooks(flow: FlowRow, pu: ProviderUser, now: Date, newId: string): Promise<{ patch: UserPatch; userId?: string }> {
    if (!(['validate', 'signup', 'login'] as const).some((e) => webhooks.wants(e))) return { patch: {} }
    const stamp = dbTime(now)
    let user: UserRow | null = null
    if (flow.invite_token_hash) {
      const otp = await findOtpByHash(db, instanceId, ['invite', 'confirmation'], flow.invite_token_hash)
      user = otp && (await findUserById(db, instanceId, otp.user_id))
      if (!user) return { patch: {} }
    } else {
      const linkedId = await findIdentityUserId(db, instanceId, flow.provider, pu.id)
      user = linkedId ? await findUserById(db, instanceId, linkedId) : null
      for (const e of pu.emails.filter((x) => x.verified)) {
        if (user) break
        user = await findUserByEmail(db, instanceId, config.jwt.aud, e.email)
      }
    }
    const events: HookEvent[] = user ? (user.confirmed_at && !flow.invite_token_hash ? ['login'] : ['signup']) : ['validate', 'signup']
    const chosen = pu.emails.find((e) => e.verified && e.primary) ?? pu.emails.find((e) => e.verified)
    if (!user && (!chosen || config.disable_signup)) return { patch: {} } // refused in the transaction anyway
    const subject: UserRow = user ? { ...user, confirmed_at: user.confirmed_at ?? stamp } : newUserRow({
      instanceId, id: newId, aud: config.jwt.aud, role: config.jwt.default_group_name, email: chosen?.email ?? '', encryptedPassword: '',
      appMetadata: { provider: flow.provider }, userMetadata: pu.metadata, confirmedAt: now, now,
    })
    let patch: UserPatch = {}
    for (const event of events) {
      try {
        patch = { ...patch, ...replyPatch(await webhooks.send(event, instanceId, toUser(subject))) }
      } catch (e) {
        if (e instanceof HttpError) throw new RedirectError(OAUTH_CODE[e.status] ?? 'server_error', e.msg)
        throw e
      }
    }
    return { patch, userId: subject.id }
  }

  function redirectTo(base: string, params: Record<string, string>, where: 'hash' | 'query', headers: Record<string, string> = {}): Response {
    const url = new URL(base)
    const encoded = new URLSearchParams(Object.entries(params).sort(([a], [b]) => a.localeCompare(b))).toString()
    if (where === 'hash') url.hash = encoded
    else for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    return new Response(null, { status: 302, headers: { ...headers, location: url.toString() } })
  }

  /** Finds or creates the user and issues the session (or PKCE code). The hooks are predicted from what the
   *  database holds before the transaction; when another sign-in of the same account changed that in between
   *  (RaceLost), the caller runs this again, so the hooks are predicted anew from the winner's rows. */
  async function signIn(flow: FlowRow, pu: ProviderUser, now: Date) {
    const newId = crypto.randomUUID()
    const { patch, userId } = await runHooks(flow, pu, now, newId)
    return db.tx(async (tx) => {
      const resolved = await resolveUser(tx, flow, pu, now, newId)
      if (userId && userId !== resolved.id) throw new RaceLost()
      const user = Object.keys(patch).length ? await updateUser(tx, resolved, patch, now) : resolved
      if (flow.code_challenge) {
        return { code: await issueOtp(tx, instanceId, user.id, 'authorization_code', now, `${flow.code_challenge_method}:${flow.code_challenge}`) }
      }
      return { session: await issueSession(tx, config, user, now) }
    })
  }

  async function callback(p: typeof CallbackParams.static, cookieHeader: string | undefined): Promise<Response> {
    const state = p.state ?? ''
    if (!state) throw badRequest('OAuth state parameter missing')
    const now = clock.now()
    if (!fromStarter(cookieHeader, state)) {
      // Another browser than the one that started the flow (a forged callback to sign the victim into the
      // attacker's account, or a leaked callback URL): nothing is exchanged, and the flow stays for its owner.
      const referrer = await findFlowReferrer(db, instanceId, sha256(state))
      if (referrer === null) throw badRequest('OAuth state is invalid: unknown or already used state')
      return redirectTo(landingFor(referrer), { error: 'invalid_request', error_description: 'OAuth state does not belong to this browser' }, 'hash')
    }
    const flow = await db.tx((tx) => takeFlow(tx, instanceId, sha256(state)))
    if (!flow) throw badRequest('OAuth state is invalid: unknown or already used state')
    if (now.getTime() - (parseTime(flow.created_at) ?? 0) > STATE_LIFETIME_MS) throw badRequest('OAuth state is invalid: state is expired')
    const target = landingFor(flow.referrer)
    const cleared = { 'set-cookie': stateCookie(flow.provider as ProviderName, '', 0) }
    try {
      if (p.error) throw new RedirectError(p.error, p.error_description ?? '')
      if (!p.code) throw new RedirectError('invalid_request', 'Authorization code missing')
      const provider = await getProvider(config, flow.provider)
      const accessToken = await provider.exchange(p.code, flow.provider_code_verifier || null).catch((e) => {
        log.warn('external code exchange failed', { provider: flow.provider, error: e })
        throw new RedirectError('server_error', `Unable to exchange external code for ${flow.provider} provider`)
      })
      const pu = await provider.fetchUser(accessToken).catch((e) => {
        log.warn('external user data failed', { provider: flow.provider, error: e })
        throw new RedirectError('server_error', 'Error getting user email from external provider')
      })
      if (!pu.emails.length || !pu.id) throw new RedirectError('server_error', 'Error getting user email from external provider')
      // Two first sign-ins of one provider account at once: the loser's insert hits a unique key once the winner
      // committed (or its hooks named a user that is not the one found), so a second pass finds the winner's rows.
      const lost = (e: unknown) => e instanceof UniqueViolation || e instanceof RaceLost
      const result = await signIn(flow, pu, now).catch((e) => {
        if (!lost(e)) throw e
        return signIn(flow, pu, now).catch((again) => {
          if (lost(again)) throw new RedirectError('temporarily_unavailable', 'Concurrent sign-ins of this account, please try again')
          throw again
        })
      })
      if ('code' in result && result.code) return redirectTo(target, { code: result.code }, 'query', cleared)
      const s = result.session as Awaited<ReturnType<typeof issueSession>>
      return redirectTo(target, {
        access_token: s.access_token, expires_in: String(s.expires_in), refresh_token: s.refresh_token, token_type: s.token_type,
      }, 'hash', cleared)
    } catch (e) {
      if (e instanceof RedirectError) return redirectTo(target, { error: e.code, error_description: e.description }, 'hash', cleared)
      if (e instanceof HttpError) return redirectTo(target, { error: OAUTH_CODE[e.status] ?? 'server_error', error_description: e.msg }, 'hash', cleared)
      throw e
    }
  }

  const callbackDoc = {
    response: { 302: t.Void({ description: 'Redirect to the site with the session (or ?code=, or #error=) ' }), 400: ErrorBody },
    detail: { summary: 'OAuth callback from the provider', tags: ['external'] },
  }
  return new Elysia({ name: 'external' })
    .model({ 'external.authorize': AuthorizeQuery, 'external.callback': CallbackParams })
    .get('/authorize', async ({ query, headers }) => {
      const name = query.provider ?? ''
      let provider
      try { provider = await getProvider(config, name) } catch (e) {
        if (e instanceof ProviderError) throw badRequest(`Unsupported provider: ${e.message}`)
        throw e
      }
      const now = clock.now()
      const invite = (query.invite_token ?? '').trim()
      if (invite) {
        const otp = await findOtp(db, instanceId, ['invite', 'confirmation'], invite)
        if (!otp) throw notFound('User not found')
        if (otpExpired(config, otp, now)) throw unprocessable('Confirmation token expired') // as POST /verify says
      }
      let challenge = '', method = ''
      if (query.code_challenge) {
        method = (query.code_challenge_method || 'plain').toLowerCase()
        if (method !== 's256' && !(method === 'plain' && config.external.pkce_plain_enabled)) throw badRequest(`Unsupported code_challenge_method: ${method}`)
        if (!CHALLENGE.test(query.code_challenge)) throw badRequest('code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]')
        challenge = query.code_challenge
      }
      // A page elsewhere is ignored (the session then lands on SITE_URL); so is one longer than the flow_states
      // column, rather than failing the sign-in (MySQL refuses it).
      const allowed = allowedRedirect(headers.referer)
      const referrer = allowed && allowed.length <= MAX_REFERRER ? allowed : ''
      const state = randomToken()
      const verifier = randomToken()
      await db.tx(async (tx) => {
        await purgeFlows(tx, new Date(now.getTime() - STATE_LIFETIME_MS))
        await insertFlow(tx, {
          instanceId, stateHash: sha256(state), provider: provider.name, provider_code_verifier: verifier,
          invite_token_hash: invite ? sha256(invite) : '', referrer, code_challenge: challenge, code_challenge_method: method, now,
        })
      })
      return new Response(null, {
        status: 302,
        headers: { location: provider.authorizationUrl(state, verifier).toString(), 'set-cookie': stateCookie(provider.name, stateProof(state), STATE_LIFETIME_MS / 1000) },
      })
    }, {
      query: 'external.authorize',
      response: { 302: t.Void({ description: 'Redirect to the provider' }), 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Start sign-in with an external provider', tags: ['external'] },
    })
    .get('/callback', ({ query, headers }) => callback(query, headers.cookie), { query: 'external.callback', ...callbackDoc })
    .post('/callback', ({ body, query, headers }) => callback({ ...query, ...(body ?? {}) }, headers.cookie), { body: t.Optional(CallbackParams), query: 'external.callback', ...callbackDoc })
}
