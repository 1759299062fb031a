// GET /authorize?provider=…: starts an external sign-in. Checks the provider, an optional invite_token and an
// optional PKCE code_challenge (lib/pkce.ts), keeps a random single-use state server-side (lib/oauth-flow.ts) with
// the page to land on, binds it to this browser with the state cookie, and redirects to the provider. GET|POST
// /callback (features/callback.ts) finishes the flow. The page to land on is `redirect_to` (supabase's
// signInWithOAuth sends it), else the Referer (GoTrue's clients), whichever lib/redirects.ts allows first.
import { Elysia, t } from 'elysia'
import { randomToken, sha256 } from '../lib/crypto.ts'
import { type Db, dbTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, notFound, unprocessable } from '../lib/errors.ts'
import { type FlowRow, STATE_LIFETIME_MS, stateCookie, stateProof } from '../lib/oauth-flow.ts'
import { findOtp, otpExpired } from '../lib/otp.ts'
import { challengeBinding } from '../lib/pkce.ts'
import { getProvider, ProviderError } from '../lib/providers/index.ts'
import { redirectGuard } from '../lib/redirects.ts'

const MAX_REFERRER = 2048

export const AuthorizeQuery = t.Object({
  provider: t.Optional(t.String({ maxLength: 64 })),
  invite_token: t.Optional(t.String({ maxLength: 512 })),
  redirect_to: t.Optional(t.String({ description: 'where the session (or ?code=) lands when GOTRUE_URI_ALLOW_LIST allows it (else the Referer, else SITE_URL); ignored when longer than 2048' })),
  code_challenge: t.Optional(t.String({ maxLength: 256 })),
  code_challenge_method: t.Optional(t.String({ maxLength: 16 })),
}, { additionalProperties: true })

async function insertFlow(db: Db, f: Omit<FlowRow, 'id' | 'created_at'> & { instanceId: string; stateHash: string; now: Date }) {
  await db.run(
    'INSERT INTO {flow_states} (id, instance_id, state_hash, provider, provider_code_verifier, invite_token_hash, referrer, code_challenge, code_challenge_method, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [crypto.randomUUID(), f.instanceId, f.stateHash, f.provider, f.provider_code_verifier, f.invite_token_hash, f.referrer, f.code_challenge, f.code_challenge_method, dbTime(f.now)],
  )
}
async function purgeFlows(db: Db, before: Date) {
  await db.run('DELETE FROM {flow_states} WHERE created_at < ?', [dbTime(before)])
}

export function authorize(deps: Deps) {
  const { config, db, clock, instanceId } = deps
  const allowedRedirect = redirectGuard(config)
  // The model keeps its first name, `external.authorize`, so the OpenAPI document and Eden clients are unchanged.
  return new Elysia({ name: 'authorize' })
    .model({ 'external.authorize': AuthorizeQuery })
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
      const binding = challengeBinding(config, query.code_challenge, query.code_challenge_method)
      const split = binding.indexOf(':')
      const method = binding.slice(0, Math.max(split, 0)), challenge = binding.slice(split + 1)
      // A page elsewhere is ignored (the session then lands on SITE_URL); so is one longer than the flow_states
      // column, rather than failing the sign-in (MySQL refuses it).
      const fits = (url: string | null) => (url && url.length <= MAX_REFERRER ? url : null)
      const referrer = fits(allowedRedirect(query.redirect_to)) ?? fits(allowedRedirect(headers.referer)) ?? ''
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
        headers: { location: provider.authorizationUrl(state, verifier).toString(), 'set-cookie': stateCookie(config, provider.name, stateProof(config, state), STATE_LIFETIME_MS / 1000) },
      })
    }, {
      query: 'external.authorize',
      response: { 302: t.Void({ description: 'Redirect to the provider' }), 400: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Start sign-in with an external provider', tags: ['external'] },
    })
}
