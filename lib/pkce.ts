// PKCE (RFC 7636): a client that cannot keep a secret proves that the one-time code it exchanges is the one its own
// request started. It sends a challenge (the base64url SHA-256 of a random verifier, or with `plain` the verifier
// itself) when it starts a flow, and the verifier when it exchanges the code. Two flows take a challenge:
//   - external sign-in: GET /authorize keeps it in the flow state, /callback redirects with ?code=, an
//     `authorization_code` token bound to it (GoTrue's `grant_type=authorization_code`, supabase's `pkce`);
//   - supabase's email flows (/signup, /otp, /recover, /resend): the mailed link token itself is bound to it, and
//     the link lands on the site with ?code=<that token>, which only `grant_type=pkce` with the verifier redeems.
// The binding is kept in the token row's `relates_to` as `<method>:<challenge>`; a token row without one is not a
// PKCE code, and a PKCE code is not a link token POST /verify would take (a leaked landing URL gives nothing).
import { t } from 'elysia'
import type { Config } from './config.ts'
import { safeEqual } from './crypto.ts'
import { badRequest, HttpError, notFound, unprocessable } from './errors.ts'
import type { OtpRow, OtpType } from './otp.ts'

const CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/

/** The token types that can carry a binding. */
export const PKCE_TYPES: OtpType[] = ['authorization_code', 'confirmation', 'magiclink', 'recovery']

/** The body fields of the email flows that take a challenge; null is what auth-js sends without PKCE. */
export const ChallengeFields = {
  code_challenge: t.Optional(t.Nullable(t.String({ maxLength: 256, description: 'PKCE: the mail link then lands with ?code= for POST /token grant_type=pkce' }))),
  code_challenge_method: t.Optional(t.Nullable(t.String({ maxLength: 16, description: 's256 (plain only with GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED)' }))),
}

/** A request's code_challenge and code_challenge_method checked: the binding to store, '' without a challenge (auth-js
 *  sends both as null then). The method defaults to `plain` (RFC 7636), which needs GOTRUE_EXTERNAL_PKCE_PLAIN_ENABLED. */
export function challengeBinding(config: Config, challenge: unknown, method: unknown): string {
  if (challenge === undefined || challenge === null || challenge === '') return ''
  const m = (typeof method === 'string' && method ? method : 'plain').toLowerCase()
  if (m !== 's256' && !(m === 'plain' && config.external.pkce_plain_enabled)) throw badRequest(`Unsupported code_challenge_method: ${m}`)
  if (typeof challenge !== 'string' || !CHALLENGE.test(challenge)) throw badRequest('code_challenge must be 43 to 128 characters of [A-Za-z0-9._~-]')
  return `${m}:${challenge}`
}

/** The binding a token row carries, or null: only PKCE_TYPES have one (an email change keeps its address there). */
export function bindingOf(row: OtpRow): string | null {
  if (!PKCE_TYPES.includes(row.token_type) || !row.relates_to) return null
  return /^(s256|plain):[A-Za-z0-9._~-]{43,128}$/.test(row.relates_to) ? row.relates_to : null
}

/** Whether the verifier answers the binding's challenge; constant-time. */
export function verifierMatches(binding: string, verifier: string): boolean {
  const i = binding.indexOf(':')
  const method = binding.slice(0, i), challenge = binding.slice(i + 1)
  const expected = method === 's256' ? new Bun.CryptoHasher('sha256').update(verifier).digest('base64url') : verifier
  return safeEqual(expected, challenge)
}

// The failures of `grant_type=pkce`, with supabase/auth's statuses, messages and error codes (lib/dialect.ts shows
// the code to supabase clients; every other client gets the GoTrue body).
const coded = (e: HttpError, code: string): HttpError => Object.assign(e, { errorCode: code })
export const pkceParamsMissing = () => coded(badRequest('invalid request: both auth code and code verifier should be non-empty'), 'validation_failed')
export const flowStateNotFound = () => coded(notFound('invalid flow state, no valid flow state found'), 'flow_state_not_found')
export const flowStateExpired = () => coded(unprocessable('invalid flow state, flow state has expired'), 'flow_state_expired')
export const badCodeVerifier = () => coded(badRequest('code challenge does not match previously saved code verifier'), 'bad_code_verifier')
