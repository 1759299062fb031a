// Who a provider sign-in signs in as, and what becomes of the account: the policy of GET/POST /callback, apart
// from its SQL (which stays in features/callback.ts), so the rule can be read, and reasoned about, in one place.
// An existing account is reached only through the provider link or an email the provider verified; an unverified
// email may only start a new account (unconfirmed until its mail is answered, or confirmed under autoconfirm).
import type { Config } from './config.ts'
import type { FlowRow } from './oauth-flow.ts'
import { type OtpRow, otpExpired } from './otp.ts'
import type { ProviderUser } from './providers/index.ts'
import { emailKey, type UserRow } from './users.ts'
import type { HookEvent } from './webhooks.ts'

/** The address a new account gets: a verified one (the primary first), else the primary, else the first. */
export function candidate(pu: ProviderUser): ProviderUser['emails'][number] | undefined {
  const verified = pu.emails.filter((e) => e.verified)
  return verified.find((e) => e.primary) ?? verified[0] ?? pu.emails.find((e) => e.primary) ?? pu.emails[0]
}

/** What the database holds about a sign-in, read the same way before the transaction (to choose the webhooks)
 *  and inside it (to act), so that one rule, `decide`, makes both choices. `otp`: the invite_token's token (an
 *  invite, or a pending signup's confirmation); `linked`: the provider account is linked to some user already;
 *  `viaEmail`: the verified provider email that found `user` when no link did; `held`: no user was found, the
 *  address a new account would get is unverified, and another account holds it. */
export interface Found { otp: OtpRow | null; user: UserRow | null; linked: boolean; viaEmail: string | null; held: boolean }
export type Decision =
  | { act: 'refuse'; code: string; description: string }
  /** an invite (or a pending signup's confirmation link) taken up through the provider */
  | { act: 'accept'; user: UserRow; otp: OtpRow; email: string; linked: boolean }
  /** a returning user; `confirm`: one not confirmed yet, whose email the provider vouches for */
  | { act: 'login' | 'confirm'; user: UserRow; linkEmail: string | null }
  | { act: 'create'; email: string }
  /** a new account whose address the provider has not verified: created unconfirmed, the confirmation mailed */
  | { act: 'enrol'; email: string }
  /** a linked account still unconfirmed, whose address the provider does not vouch for: the confirmation mail
   *  again (at most once per SMTP_MAX_FREQUENCY), no session */
  | { act: 'remind'; user: UserRow }

/** The webhooks each decision fires, in order. `signup` fires when a user becomes confirmed: for an enrolled
 *  account, when its confirmation link is used (/verify). */
export const HOOKS: Record<Decision['act'], HookEvent[]> = {
  refuse: [], accept: ['signup'], login: ['login'], confirm: ['signup'], create: ['validate', 'signup'], enrol: ['validate'], remind: [],
}

/** The rule of a sign-in: which user, and what becomes of it. An existing account is found through the provider
 *  link or a verified email only: an unverified email never reaches another account (under autoconfirm either,
 *  where the reference links any email, an account takeover), it may only start a new one. */
export function decide(found: Found, flow: FlowRow, pu: ProviderUser, config: Config, now: Date): Decision {
  const verified = pu.emails.filter((e) => e.verified)
  const refuse = (code: string, description: string): Decision => ({ act: 'refuse', code, description })
  if (flow.invite_token_hash) {
    const { otp, user } = found
    if (!otp || !user) return refuse('server_error', 'User not found')
    if (otpExpired(config, otp, now)) return refuse('invalid_request', 'Confirmation token expired')
    const match = verified.find((e) => emailKey(e.email) === emailKey(user.email))
    if (!match) return refuse('invalid_request', 'Invited email does not match emails from external provider')
    return { act: 'accept', user, otp, email: match.email, linked: found.linked }
  }
  const { user } = found
  if (user?.confirmed_at) return { act: 'login', user, linkEmail: found.viaEmail }
  if (user) {
    // Unconfirmed: a pending signup or invite found by a verified email, or an account this provider account
    // started with an unverified address. The provider confirms it only by vouching for the account's own address
    // (a verified email of another address proves nothing about this one); otherwise its confirmation mail must.
    const vouched = found.viaEmail !== null || config.mailer.autoconfirm || verified.some((e) => emailKey(e.email) === emailKey(user.email))
    return vouched ? { act: 'confirm', user, linkEmail: found.viaEmail } : { act: 'remind', user }
  }
  if (config.disable_signup) return refuse('access_denied', 'Signups not allowed for this instance')
  const chosen = candidate(pu)
  if (!chosen) return refuse('server_error', 'Error getting user email from external provider')
  if (chosen.verified) return { act: 'create', email: chosen.email }
  // An unverified address that an account holds: linking it would hand that account to whoever controls this
  // provider account, so nothing is linked and nothing created.
  if (found.held) return refuse('access_denied', 'Email from external provider is not verified')
  return { act: config.mailer.autoconfirm ? 'create' : 'enrol', email: chosen.email }
}
