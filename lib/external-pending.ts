// The external sign-in that does not sign in yet: a provider whose address is not verified starts a NEW account
// unconfirmed (or reminds an unconfirmed one), and the confirmation mail, sent after the callback's commit, is
// what signs in (features/callback.ts decides, lib/external-accounts.ts says when). A failed mail takes back what
// the callback wrote.
import { deleteCreated, mailOrUndo, newAccount, restoreUser } from './accounts.ts'
import { dbTime, type Db, parseTime } from './db/index.ts'
import type { Deps } from './deps.ts'
import type { Decision } from './external-accounts.ts'
import { findIdentity, insertIdentity } from './identities.ts'
import { mailVars, opensPage } from './links.ts'
import type { FlowRow } from './oauth-flow.ts'
import { findOtpForUser, identityMark, issueOtp, markedIdentity, otpExpired, type OtpRow } from './otp.ts'
import type { ProviderUser } from './providers/index.ts'
import { redirectGuard } from './redirects.ts'
import { claimConfirmationMail, insertUser, type Metadata, parseMeta, updateUser, type UserPatch, type UserRow } from './users.ts'

/** A confirmation mail the callback sends after its commit: `created` (an enrolled account, deleted again if the
 *  mail fails) or the earlier state to put back (a reminder). */
export interface Pending { user: UserRow; token: string | null; created: boolean; sentBefore: string | null; earlierLink: OtpRow | null }

/** The callback's steps for a held sign-in, and the two rules it shares with the rest of the callback. */
export function heldSignIns(deps: Deps) {
  const { config } = deps
  const allowedRedirect = redirectGuard(config)
  /** A new user from a provider profile: confirmed at once when the provider verified the email (or under
   *  autoconfirm), else unconfirmed until its confirmation mail is used. */
  const newcomer = (email: string, id: string, provider: string, userMetadata: Metadata, now: Date, confirmed = true) =>
    newAccount(deps, { id, aud: config.jwt.aud, email, appMetadata: { provider }, userMetadata, confirmedAt: confirmed ? now : null, now })
  /** A confirmation mail looks due: the last one (if any) is older than SMTP_MAX_FREQUENCY. Read before the
   *  transaction, to count the address's mail budget; inside it, claimConfirmationMail decides. */
  const mailDue = (u: UserRow, now: Date) => now.getTime() - (parseTime(u.confirmation_sent_at) ?? 0) >= config.smtp.max_frequency * 1000

  /** Carries out `enrol` or `remind` inside the callback's transaction: the account and its link, and the
   *  confirmation token when a mail is due, bound to the browser of this sign-in (`browserMark`,
   *  lib/held-browser.ts). Nothing signs in. */
  async function hold(tx: Db, d: Extract<Decision, { act: 'enrol' | 'remind' }>, flow: FlowRow, pu: ProviderUser, now: Date, newId: string, patch: UserPatch, browserMark: string): Promise<Pending> {
    const meta = deps.validateUserData?.(pu.metadata) ? {} : pu.metadata
    let user: UserRow
    let identityId: string
    if (d.act === 'enrol') {
      user = await insertUser(tx, newcomer(d.email, newId, flow.provider, meta, now, false))
      identityId = await insertIdentity(tx, deps.instanceId, user.id, flow.provider, pu, d.email, now)
      if (Object.keys(patch).length) user = await updateUser(tx, user, patch, now) // the validate hook's reply
    } else {
      user = d.user
      identityId = (await findIdentity(tx, deps.instanceId, flow.provider, pu.id))?.id ?? ''
    }
    const base = { created: d.act === 'enrol', sentBefore: user.confirmation_sent_at }
    // A live link that ties nothing was asked for by address (a re-signup, /resend): it may be the owner's, mailed
    // because a sign-in's link was not theirs. A reminder replacing it would kill it and mail a tied one again,
    // so it waits for that link to be used or to expire.
    const live = d.act === 'remind' ? await findOtpForUser(tx, user.id, 'confirmation') : null
    if (live && !markedIdentity(live) && !otpExpired(config, live, now)) return { ...base, user, token: null, earlierLink: null }
    // A reminder's row was read without a lock, so two sign-ins at once may both find the last mail old enough:
    // the claim (a conditional UPDATE of confirmation_sent_at) picks the one that mails. A new row always wins it.
    if (!(await claimConfirmationMail(tx, user.id, now, config.smtp.max_frequency))) return { ...base, user, token: null, earlierLink: null }
    user = { ...user, confirmation_sent_at: dbTime(now), updated_at: dbTime(now) }
    const earlierLink = live // what a failed mail puts back
    // The link names this sign-in's provider link and browser: confirming through it in that browser keeps that
    // link (and drops any other); through it elsewhere (the address's owner clicking a mail they never asked for),
    // or through any other mail (the owner's own /signup, /resend, /recover, /otp), the link goes.
    const token = await issueOtp(tx, deps.instanceId, user.id, 'confirmation', now, identityMark(identityId, browserMark))
    return { ...base, user, token, earlierLink }
  }

  /** The confirmation mail of a held sign-in, after the commit. The link lands where the session would have:
   *  the page that started the flow when it is allowed, unless MAILER_URLPATHS_CONFIRMATION names this API's
   *  account page, which is on the origin of the browser's cookie (lib/held-browser.ts) when the site is not. A
   *  failed mail takes back what the callback wrote. */
  async function mailConfirmation(p: Pending, flow: FlowRow): Promise<void> {
    const { user, token } = p
    if (!token) return
    const landing = opensPage(config, 'confirmation') ? null : allowedRedirect(flow.referrer)
    await mailOrUndo(deps,
      () => deps.mailer.send('confirmation', user.email, mailVars(config, 'confirmation', user.email, token, parseMeta(user.raw_user_meta_data), undefined, landing)),
      'Error sending confirmation mail', 'external sign-in after mail failure', (tx) => p.created
        ? deleteCreated(tx, deps, user, 'confirmation', token)
        : restoreUser(tx, deps, user, { confirmation_sent_at: p.sentBefore }, 'confirmation', p.earlierLink, token))
  }

  return { newcomer, mailDue, hold, mailConfirmation }
}
