// GET|POST /callback: finishes an external sign-in that GET /authorize (features/authorize.ts) started. Checks
// that the state is known, fresh and carried by the browser that started the flow (lib/oauth-flow.ts), exchanges
// the code, reads the profile, finds or creates the user and redirects to the site with the session in the URL
// fragment (GoTrue's implicit flow) or, when /authorize was given a PKCE code_challenge, with a one-time ?code= for
// the authorization_code grant of POST /token.
// An address the provider has not verified may start a NEW account, as in the reference: the account is created
// unconfirmed and the address gets the confirmation mail (its link confirms and signs in, as any confirmation
// does), and the browser lands on the site with nothing in the URL; with MAILER_AUTOCONFIRM it is confirmed and
// signed in at once, as /signup would.
// Safer than the reference: the session lands only on the site's own origin or an allow-listed URL; an existing
// account is linked only through an email the provider marks as verified (also under autoconfirm, where the
// reference matches any); confirming an unconfirmed account through a provider clears the password and the other
// provider links that nobody had proven to own; a provider that vouches for the address of a confirmed account
// proves it as a mail does, so the link an unverified address made it with goes (lib/identities.ts).
import { Elysia, t } from 'elysia'
import { hookPatch, mergedMeta } from '../lib/accounts.ts'
import { actorOf, type AuditAction, writeAudit } from '../lib/audit.ts'
import type { ProviderName } from '../lib/config.ts'
import { clientOf } from '../lib/client.ts'
import { sha256 } from '../lib/crypto.ts'
import { type Db, dbTime, parseTime, UniqueViolation, WriteConflict } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, HttpError } from '../lib/errors.ts'
import { enforce, RULES } from '../lib/limits.ts'
import { candidate, decide, type Decision, type Found, HOOKS } from '../lib/external-accounts.ts'
import { type Pending, heldSignIns } from '../lib/external-pending.ts'
import { bindHeldBrowser } from '../lib/held-browser.ts'
import { addressProven, dropOtherIdentities, findIdentity, findIdentityUserId, insertIdentity, lockIdentity, markProven, profileAfterProof, UNPROVEN_GONE, vouchesFor } from '../lib/identities.ts'
import { type FlowRow, fromStarter, STATE_LIFETIME_MS, stateCookie } from '../lib/oauth-flow.ts'
import { consumeOtp, findOtpByHash, issueOtp, otpMaxAge } from '../lib/otp.ts'
import { getProvider, type ProviderUser } from '../lib/providers/index.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { redirectGuard } from '../lib/redirects.ts'
import { issueSession, type SessionOrigin } from '../lib/sessions.ts'
import {
  emailKey, emailProblem, findUserByEmail, findUserById, insertUser, newUserRow, updateUser, type UserPatch, type UserRow,
} from '../lib/users.ts'

/** The browser that came back from the provider: its address (rate limits, hooks) and the session's device. */
type BrowserOrigin = SessionOrigin & { client: string }

export const CallbackParams = t.Object({
  state: t.Optional(t.String({ maxLength: 512 })),
  code: t.Optional(t.String({ maxLength: 2048 })),
  error: t.Optional(t.String({ maxLength: 256 })),
  error_description: t.Optional(t.String({ maxLength: 2048 })),
}, { additionalProperties: true })

async function takeFlow(db: Db, instanceId: string, stateHash: string): Promise<FlowRow | null> {
  const row = await db.get<FlowRow>(
    'SELECT id, provider, provider_code_verifier, invite_token_hash, referrer, code_challenge, code_challenge_method, created_at FROM {flow_states} WHERE state_hash = ? AND instance_id = ? FOR UPDATE',
    [stateHash, instanceId],
  )
  // Nothing deleted: another node's callback took the flow between the lock and here (see consumeOtp).
  if (row && (await db.run('DELETE FROM {flow_states} WHERE id = ?', [row.id])).changes !== 1) throw new WriteConflict('OAuth flow taken by a concurrent callback')
  return row
}
async function findFlowReferrer(db: Db, instanceId: string, stateHash: string): Promise<string | null> {
  const row = await db.get<{ referrer: string }>('SELECT referrer FROM {flow_states} WHERE state_hash = ? AND instance_id = ?', [stateHash, instanceId])
  return row ? row.referrer : null
}
async function lookUp(db: Db, instanceId: string, aud: string, flow: FlowRow, pu: ProviderUser): Promise<Found> {
  if (flow.invite_token_hash) {
    const otp = await findOtpByHash(db, instanceId, ['invite', 'confirmation'], flow.invite_token_hash)
    const user = otp ? await findUserById(db, instanceId, otp.user_id) : null
    return { otp, user, linked: (await findIdentityUserId(db, instanceId, flow.provider, pu.id)) !== null, viaEmail: null, held: false }
  }
  const linkedId = await findIdentityUserId(db, instanceId, flow.provider, pu.id)
  let user = linkedId ? await findUserById(db, instanceId, linkedId) : null
  let viaEmail: string | null = null
  for (const e of pu.emails) {
    if (user) break
    if (!e.verified) continue
    user = await findUserByEmail(db, instanceId, aud, e.email)
    if (user) viaEmail = e.email
  }
  const fresh = user ? undefined : candidate(pu)
  const held = !!fresh && !fresh.verified && (await findUserByEmail(db, instanceId, aud, fresh.email)) !== null
  return { otp: null, user, linked: linkedId !== null, viaEmail, held }
}

/** A failure shown to the site as `#error=…&error_description=…` (GoTrue's callback contract). */
class RedirectError extends Error {
  constructor(readonly code: string, readonly description: string) { super(description) }
}
/** The transaction found another user than the one the hooks were told about: it is rolled back and redone. */
class RaceLost extends Error {}
const OAUTH_CODE: Record<number, string> = {
  400: 'invalid_request', 401: 'unauthorized_client', 403: 'access_denied', 429: 'temporarily_unavailable', 500: 'server_error', 503: 'temporarily_unavailable',
}

export function callback(deps: Deps) {
  const { config, db, clock, instanceId, log, webhooks } = deps
  const allowedRedirect = redirectGuard(config)
  /** Where a flow's outcome is shown: the operator's fixed URL, else the page that started it when that page is
   *  on the site or allow-listed, else SITE_URL. */
  const landingFor = (referrer: string) => config.external.redirect_url || allowedRedirect(referrer) || config.site_url

  const { newcomer, mailDue, hold, mailConfirmation } = heldSignIns(deps)

  /** Carries out a decision inside the callback's transaction; returns the user who signs in, and whether links
   *  nobody had proven went (with the user's other sessions). */
  async function act(tx: Db, d: Exclude<Decision, { act: 'refuse' }>, flow: FlowRow, pu: ProviderUser, now: Date, newId: string): Promise<{ user: UserRow; unlinked: boolean }> {
    const provider = flow.provider
    // Provider metadata (full_name, avatar_url, slug) is stored only when GOTRUE_USER_DATA_SCHEMA accepts it.
    const meta = deps.validateUserData?.(pu.metadata) ? {} : pu.metadata
    const audit = (u: UserRow, action: AuditAction) => writeAudit(tx, instanceId, actorOf(u), action, now)
    const link = (userId: string, email: string) => insertIdentity(tx, instanceId, userId, provider, pu, email, now)
    /** This provider account's link to `userId` ('' when it has none, or links another account). */
    const ownLink = async (userId: string) => {
      const row = await findIdentity(tx, instanceId, provider, pu.id)
      return row?.user_id === userId ? row.id : ''
    }
    if (d.act === 'accept') {
      const { user } = d
      await consumeOtp(tx, d.otp.id)
      const keep = d.linked ? await ownLink(user.id) : await link(user.id, d.email)
      // The mailed token and the provider both prove the address: links nobody had proven go (an unverified
      // provider sign-in's), with the password their holder could have set (lib/identities.ts).
      const taken = await addressProven(tx, user, keep, now, null, provider)
      const unlinked = taken !== null
      await audit(user, 'invite_accepted')
      return {
        unlinked,
        user: await updateUser(tx, user, {
          confirmed_at: user.confirmed_at ?? dbTime(now),
          // as below: a pending signup's password may have been chosen by someone who never owned the address
          ...(user.confirmed_at && !unlinked ? {} : { encrypted_password: '' }),
          ...(unlinked ? UNPROVEN_GONE : {}),
          // on the profile as it is without what the gone links gave it
          raw_app_meta_data: mergedMeta(taken?.raw_app_meta_data ?? user.raw_app_meta_data, { provider }),
          raw_user_meta_data: mergedMeta(taken?.raw_user_meta_data ?? user.raw_user_meta_data, meta),
        }, now),
      }
    }
    if (d.act === 'enrol' || d.act === 'remind') throw new Error('held sign-ins are carried out by hold()')
    if (d.act === 'create') {
      const created = await insertUser(tx, newcomer(d.email, newId, provider, meta, now))
      await link(created.id, d.email)
      await audit(created, 'user_signedup')
      return { user: created, unlinked: false }
    }
    const { user } = d
    const linked = d.linkEmail ? await link(user.id, d.linkEmail) : ''
    if (d.act === 'login') {
      // A provider vouching for the account's address proves it as a mail would: a link found through a verified
      // email, or the account's own link once its provider has verified the address. A link that was never
      // proven (the one an unverified address created the account with) goes, with its sessions and the password
      // its holder could have set; the prover's session is issued after.
      const taken = linked || vouchesFor(pu, user.email) ? await addressProven(tx, user, linked || await ownLink(user.id), now, null, provider) : null
      await audit(user, 'login')
      return { unlinked: taken !== null, user: await updateUser(tx, user, { last_sign_in_at: dbTime(now), ...(taken ? { ...taken, ...UNPROVEN_GONE, encrypted_password: '' } : {}) }, now) }
    }
    // An unconfirmed account whose email the provider vouches for: confirm it, and drop the password and the
    // other provider links, which may have been set up by someone who never owned the address (pre-hijacking):
    // a password signup of someone else's address, or a sign-in with a provider account that claims the
    // address unverified. The owner signs in with this provider, and sets a password if they want one.
    // What the dropped links gave the profile goes with them.
    const taken = await dropOtherIdentities(tx, user, provider, pu.id)
    // confirmed under autoconfirm only, the link stays unproven; vouched for, it is proven now
    if (!linked && vouchesFor(pu, user.email)) await markProven(tx, await ownLink(user.id), now)
    await audit(user, 'user_signedup')
    return { unlinked: false, user: await updateUser(tx, user, { confirmed_at: dbTime(now), encrypted_password: '', last_sign_in_at: dbTime(now), ...taken }, now) }
  }

  /** What runs before the transaction (never while the database is held), as `decide` chooses from what the
   *  database holds now: the mail budget of the address when a confirmation mail is due (GOTRUE_RATE_LIMIT_OTP,
   *  per client and per address, as /signup counts it; over it nothing is written), then the webhooks of this
   *  sign-in (HOOKS). A refusal sends none (the transaction refuses it again). Returns the hooks' replies as one
   *  patch and the id of the user they were told about (none without hooks). */
  async function runHooks(flow: FlowRow, pu: ProviderUser, now: Date, newId: string, client: string): Promise<{ patch: UserPatch; userId?: string }> {
    const d = decide(await lookUp(db, instanceId, config.jwt.aud, flow, pu), flow, pu, config, now)
    if (d.act === 'refuse') return { patch: {} }
    if (d.act === 'enrol' || (d.act === 'remind' && mailDue(d.user, now))) {
      const to = d.act === 'enrol' ? d.email : d.user.email
      await enforce(deps.limiter, RULES(config).otp, [client, emailKey(to)], now.getTime())
    }
    if (!HOOKS[d.act].some((e) => webhooks.wants(e))) return { patch: {} }
    const subject: UserRow = d.act === 'create' || d.act === 'enrol'
      ? newUserRow(newcomer(d.email, newId, flow.provider, pu.metadata, now, d.act === 'create'))
      : { ...d.user, ...await profileAfterSignIn(d, flow, pu), confirmed_at: d.user.confirmed_at ?? (d.act === 'remind' ? null : dbTime(now)) }
    let patch: UserPatch = {}
    for (const event of HOOKS[d.act]) {
      try {
        patch = { ...patch, ...(await hookPatch(deps, event, subject)) }
      } catch (e) {
        if (e instanceof HttpError) throw new RedirectError(OAUTH_CODE[e.status] ?? 'server_error', e.msg)
        throw e
      }
    }
    return { patch, userId: subject.id }
  }

  /** The profile the hooks are told: without what the provider links this sign-in will drop gave it (act()), so that
   *  a reply echoing what it was sent does not put it back. Read before the transaction, as the hooks run. */
  async function profileAfterSignIn(d: Exclude<Decision, { act: 'refuse' | 'create' | 'enrol' }>, flow: FlowRow, pu: ProviderUser): Promise<UserPatch> {
    const own = await findIdentity(db, instanceId, flow.provider, pu.id)
    const keep = own?.user_id === d.user.id ? own.id : ''
    if (d.act === 'accept') return profileAfterProof(db, d.user, keep, flow.provider)
    if (d.act === 'confirm') return profileAfterProof(db, d.user, keep, flow.provider, true)
    if (d.act === 'login' && (d.linkEmail || vouchesFor(pu, d.user.email))) return profileAfterProof(db, d.user, keep, flow.provider)
    return {}
  }

  function redirectTo(base: string, params: Record<string, string>, where: 'hash' | 'query', headers: Record<string, string> = {}, cookies: string[] = []): Response {
    const url = new URL(base)
    const encoded = new URLSearchParams(Object.entries(params).sort(([a], [b]) => a.localeCompare(b))).toString()
    if (where === 'hash') url.hash = encoded
    else for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
    const h = new Headers({ ...headers, location: url.toString() })
    for (const c of cookies) h.append('set-cookie', c)
    return new Response(null, { status: 302, headers: h })
  }

  /** Finds or creates the user and issues the session (or PKCE code). The hooks are chosen from what the database
   *  holds before the transaction, and the transaction decides again by the same rule; when another sign-in of
   *  the same account changed the rows in between so that it decides for another user than the hooks were told
   *  about (RaceLost), the caller runs this again, so the hooks are chosen anew from the winner's rows. */
  async function signIn(flow: FlowRow, pu: ProviderUser, now: Date, origin: BrowserOrigin, browserMark: string): Promise<{ code?: string; session?: unknown; pending?: Pending }> {
    const newId = crypto.randomUUID()
    const { patch, userId } = await runHooks(flow, pu, now, newId, origin.client)
    let unlinked = false
    const result = await db.tx(async (tx): Promise<{ code?: string; session?: unknown; pending?: Pending }> => {
      const found = await lookUp(tx, instanceId, config.jwt.aud, flow, pu)
      const d = decide(found, flow, pu, config, now)
      if (d.act === 'refuse') throw new RedirectError(d.code, d.description)
      // Found through this provider account's link by a plain read: a proof of the address may have deleted that
      // link since (on MySQL, REPEATABLE READ keeps showing it), and a session issued now would land after the
      // proof ended the others. Read again under its lock: gone, the sign-in is decided anew.
      if (found.linked && !(await lockIdentity(tx, instanceId, flow.provider, pu.id))) throw new RaceLost()
      if (userId && userId !== (d.act === 'create' || d.act === 'enrol' ? newId : d.user.id)) throw new RaceLost()
      if (d.act === 'enrol' || d.act === 'remind') return { pending: await hold(tx, d, flow, pu, now, newId, patch, browserMark) }
      const acted = await act(tx, d, flow, pu, now, newId)
      unlinked = acted.unlinked
      const user = Object.keys(patch).length ? await updateUser(tx, acted.user, patch, now) : acted.user
      if (flow.code_challenge) {
        return { code: await issueOtp(tx, instanceId, user.id, 'authorization_code', now, `${flow.code_challenge_method}:${flow.code_challenge}`) }
      }
      return { session: await issueSession(tx, config, user, now, { ...origin, method: 'oauth' }) }
    })
    if (unlinked) revocationsChanged() // after the commit too: a node's read may have run before it
    return result
  }

  async function finish(p: typeof CallbackParams.static, cookieHeader: string | undefined, origin: BrowserOrigin): Promise<Response> {
    const state = p.state ?? ''
    if (!state) throw badRequest('OAuth state parameter missing')
    const now = clock.now()
    if (!fromStarter(config, cookieHeader, state)) {
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
    const cleared = { 'set-cookie': stateCookie(config, flow.provider as ProviderName, '', 0) }
    try {
      if (p.error) throw new RedirectError(p.error, p.error_description ?? '')
      if (!p.code) throw new RedirectError('invalid_request', 'Authorization code missing')
      const provider = await getProvider(config, flow.provider)
      const accessToken = await provider.exchange(p.code, flow.provider_code_verifier || null).catch((e) => {
        log.warn('external code exchange failed', { provider: flow.provider, error: e })
        throw new RedirectError('server_error', `Unable to exchange external code for ${flow.provider} provider`)
      })
      const fetched = await provider.fetchUser(accessToken).catch((e) => {
        log.warn('external user data failed', { provider: flow.provider, error: e })
        throw new RedirectError('server_error', 'Error getting user email from external provider')
      })
      // Only addresses our own signup would take: keys compare lower-cased, and a non-ASCII one could lower-case
      // onto another account's (U+212A KELVIN SIGN becomes "k"), which a provider "verifying" it would then reach.
      const pu = { ...fetched, emails: fetched.emails.filter((e) => typeof e.email === 'string' && !emailProblem(e.email.trim())) }
      if (!pu.emails.length || !pu.id) throw new RedirectError('server_error', 'Error getting user email from external provider')
      // Two first sign-ins of one provider account at once: the loser's insert hits a unique key once the winner
      // committed (or its hooks named a user that is not the one found), so a second pass finds the winner's rows.
      const lost = (e: unknown) => e instanceof UniqueViolation || e instanceof RaceLost
      // A held sign-in's mail is bound to this browser (lib/held-browser.ts); the cookie is set only when one goes.
      const browser = bindHeldBrowser(config, otpMaxAge(config, 'confirmation'))
      const result = await signIn(flow, pu, now, origin, browser.mark).catch((e) => {
        if (!lost(e)) throw e
        return signIn(flow, pu, now, origin, browser.mark).catch((again) => {
          if (lost(again)) throw new RedirectError('temporarily_unavailable', 'Concurrent sign-ins of this account, please try again')
          throw again
        })
      })
      // No session until the address is confirmed: the site is shown nothing, as the reference redirects
      // without a fragment (gotrue-js and the identity widget then simply stay signed out).
      if (result.pending) {
        await mailConfirmation(result.pending, flow)
        return redirectTo(target, {}, 'hash', cleared, result.pending.token ? [browser.setCookie] : [])
      }
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
    response: { 302: t.Void({ description: 'Redirect to the site with the session (or ?code=, or #error=); a sign-in held for its confirmation mail lands with nothing and sets the HttpOnly cookie that binds the mail to this browser' }), 400: ErrorBody },
    detail: { summary: 'OAuth callback from the provider', tags: ['external'] },
  }
  // The browser that comes back from the provider: its session's device summary (lib/sessions.ts).
  const originOf = (request: Request, server: Parameters<typeof clientOf>[2]): BrowserOrigin => ({ userAgent: request.headers.get('user-agent'), client: clientOf(config, request, server) })
  // The model keeps its first name, `external.callback`, so the OpenAPI document and Eden clients are unchanged.
  return new Elysia({ name: 'callback' })
    .model({ 'external.callback': CallbackParams })
    .get('/callback', ({ query, headers, request, server }) => finish(query, headers.cookie, originOf(request, server)), { query: 'external.callback', ...callbackDoc })
    .post('/callback', ({ body, query, headers, request, server }) => finish({ ...query, ...(body ?? {}) }, headers.cookie, originOf(request, server)), {
      body: t.Optional(CallbackParams), query: 'external.callback', ...callbackDoc,
    })
}
