// Whether a provider link's address was proven, and what happens to the links nobody proved once someone proves
// the account's address. A link is proven when the provider vouched for its address (a verified email) or when the
// confirmation mail its own sign-in sent was answered; the flag is kept as `email_verified` in the link's
// identity_data (supabase's key there). An unverified address only ever starts an account (lib/external-accounts.ts),
// so an account has at most one unproven link: the one that created it, under GOTRUE_MAILER_AUTOCONFIRM or before
// its mail was answered. Whoever holds that provider account has had the whole account since; when the address is
// later proven by someone else (a mail answered, or another provider vouching for it), the link goes, with the
// sessions and the password its holder could have made (lib/verify.ts, features/callback.ts).
import { type Actor, actorOf, writeAudit } from './audit.ts'
import { type Db, dbTime } from './db/index.ts'
import type { ProviderUser } from './providers/index.ts'
import { findOtpForUser, markedIdentity, type OtpRow, revokeOtp } from './otp.ts'
import { endOtherSessions } from './sessions.ts'
import { claimConfirmationMail, emailKey, parseMeta, updateUser, type UserPatch, type UserRow } from './users.ts'

/** The provider vouches for `email`: one of its emails is that address and verified. */
export const vouchesFor = (pu: ProviderUser, email: string): boolean =>
  pu.emails.some((e) => e.verified && emailKey(e.email) === emailKey(email))

/** identity_data of a new link: the provider's metadata, its email list, and whether the link's address is proven. */
export const identityData = (pu: ProviderUser, email: string): string =>
  JSON.stringify({ ...pu.metadata, emails: pu.emails, email_verified: vouchesFor(pu, email) })

interface LinkRow { id: string; provider: string; email: string; identity_data: string | null }
function parse(raw: string | null): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(raw ?? '{}')
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {}
  } catch {
    return {}
  }
}
/** A link is proven by its `email_verified`; a link stored before that flag existed, by the email list its
 *  provider gave then (a link that was confirmed through its own mail then counts as unproven: it is dropped at
 *  the next proof by mail, and comes back once its provider verifies the address). */
function proven(row: LinkRow): boolean {
  const data = parse(row.identity_data)
  if (typeof data.email_verified === 'boolean') return data.email_verified
  const emails = Array.isArray(data.emails) ? data.emails as { email?: unknown; verified?: unknown }[] : []
  return emails.some((e) => e.verified === true && typeof e.email === 'string' && emailKey(e.email) === emailKey(row.email))
}

/** Marks a link proven (its provider now vouches for the address, or its confirmation mail was answered). */
export async function markProven(db: Db, identityId: string, now: Date): Promise<void> {
  const row = await db.get<LinkRow>('SELECT id, provider, email, identity_data FROM {identities} WHERE id = ?', [identityId])
  if (!row || parse(row.identity_data).email_verified === true) return
  await db.run('UPDATE {identities} SET identity_data = ?, updated_at = ? WHERE id = ?',
    [JSON.stringify({ ...parse(row.identity_data), email_verified: true }), dbTime(now), identityId])
}

/** What the caller writes to the user when addressProven dropped a link: the pending email change its holder
 *  could have started goes (its token is revoked there; the columns go through the caller's own patch, so the row
 *  it returns is the stored one). The password is the caller's to clear (a recovery or invite sets a new one). */
export const UNPROVEN_GONE: UserPatch = { email_change: '', email_change_sent_at: null }

/** What the links in `gone` gave the account's profile, taken back: a user_metadata key whose value is still the
 *  one a gone link's provider gave (its identity_data holds the provider's metadata: a full name, an avatar URL on
 *  a server of its holder's choosing), and app_metadata.provider when it names a gone link's provider that no link
 *  left has (then `provider`: 'email' when a mail proved the address, else the provider that did). What anyone
 *  else wrote (an admin, a hook's reply, the owner) stays. */
export function profileGone(user: UserRow, gone: LinkRow[], left: LinkRow[], provider: string): UserPatch {
  const given = gone.map((l) => parse(l.identity_data))
  const meta = parseMeta(user.raw_user_meta_data)
  const same = (k: string, v: unknown) => k !== 'emails' && k !== 'email_verified' && given.some((d) => Object.hasOwn(d, k) && JSON.stringify(d[k]) === JSON.stringify(v))
  const kept = Object.entries(meta).filter(([k, v]) => !same(k, v))
  const app = parseMeta(user.raw_app_meta_data)
  const named = typeof app.provider === 'string' && gone.some((l) => l.provider === app.provider) && !left.some((l) => l.provider === app.provider)
  return {
    ...(kept.length !== Object.keys(meta).length ? { raw_user_meta_data: JSON.stringify(Object.fromEntries(kept)) } : {}),
    ...(named ? { raw_app_meta_data: JSON.stringify({ ...app, provider }) } : {}),
  }
}

const linksOf = (db: Db, userId: string) =>
  db.all<LinkRow>('SELECT id, provider, email, identity_data FROM {identities} WHERE user_id = ?', [userId])

/** What addressProven would take from the account's profile (`all`: what dropOtherIdentities would, every link but
 *  `keep`), read only: for a caller that tells someone about the account before its transaction (the signup and
 *  login webhooks are told the profile the account will have). */
export async function profileAfterProof(db: Db, user: UserRow, keep: string, provider: string, all = false): Promise<UserPatch> {
  const links = await linksOf(db, user.id)
  const gone = links.filter((l) => l.id !== keep && (all || !proven(l)))
  return profileGone(user, gone, links.filter((l) => !gone.includes(l)), provider)
}

/** The account's address was just proven, through the link `keep` ('' for none: by mail): `keep` becomes proven,
 *  every unproven link goes, and when one went so does every session of the user but `session` (the prover's,
 *  when it already has one; otherwise the caller issues it after this; access tokens are refused through
 *  lib/revocations.ts), and so do the one-time tokens the link's holder could still turn into the account: an
 *  email change mailed to an address of theirs, and a PKCE code its sign-in got but has not exchanged yet (the
 *  prover's own code is issued after this). Returns null when no link went; else what the gone links gave the
 *  profile, to take back (profileGone; `provider` is the account's provider then), and the caller then applies that,
 *  UNPROVEN_GONE, and clears a password this proof does not set (the link's holder could have set it). Runs inside
 *  the caller's transaction; `by` is who vouched for the address when not the user (an admin). */
export async function addressProven(db: Db, user: UserRow, keep: string, now: Date, session: string | null = null, provider = 'email', by: Actor | null = null): Promise<UserPatch | null> {
  if (keep) await markProven(db, keep, now)
  const links = await linksOf(db, user.id)
  const gone = links.filter((l) => l.id !== keep && !proven(l))
  if (!gone.length) return null
  for (const l of gone) await db.run('DELETE FROM {identities} WHERE id = ?', [l.id])
  for (const type of ['email_change', 'authorization_code'] as const) await revokeOtp(db, user.id, type)
  const sessions = await endOtherSessions(db, user, session, now, 'address_proven')
  // `by`: an admin who vouched for the address is who did it; the entry then names the account, as admin entries do
  await writeAudit(db, user.instance_id, by ?? actorOf(user), 'user_modified', now, {
    reason: 'unproven_identities_removed', providers: gone.map((l) => l.provider), sessions,
    ...(by ? { user_id: user.id, user_email: user.email } : {}),
  })
  return profileGone(user, gone, links.filter((l) => !gone.includes(l)), provider)
}

/** claimConfirmationMail for a request that the address's owner may have made (a re-signup, /resend): when the
 *  live confirmation link is tied to a provider sign-in (an unverified provider address started the account), it
 *  is not the asker's, and inside the window they would get no mail and confirm with that link, keeping the
 *  provider link whoever made it (an attacker who claimed the address at a provider). So such a link is replaced
 *  and mailed whatever the window. And whenever such a request mails, inside the window or long after it, the
 *  account's unproven provider links go: from then on those provider accounts reach this one only once their
 *  provider vouches for the address, however often they sign in again. The live link is read under its lock: of
 *  two such requests at once the second finds the untied link and waits for the window. Returns the user as it
 *  stands after the claim (and what to take from an earlier row an undo puts back), or null when no mail is due. */
export async function claimOwnConfirmationMail(db: Db, user: UserRow, now: Date, maxFrequency: number): Promise<{ user: UserRow; takeBack(row: UserRow): UserPatch; live: OtpRow | null } | null> {
  const live = await findOtpForUser(db, user.id, 'confirmation')
  if (!(await claimConfirmationMail(db, user.id, now, live && markedIdentity(live) ? 0 : maxFrequency))) return null
  const claimed = { ...user, confirmation_sent_at: dbTime(now), updated_at: dbTime(now) }
  // Every unproven link goes, not only the one a live link names: a planted link whose mail has expired (or was
  // taken back) is just as unproven, and would otherwise wait for the owner's fresh link to expire too. What it
  // gave the profile goes with it.
  const links = await linksOf(db, user.id)
  const gone = links.filter((l) => !proven(l))
  for (const l of gone) await db.run('DELETE FROM {identities} WHERE id = ?', [l.id])
  const left = links.filter((l) => !gone.includes(l))
  const patch = profileGone(claimed, gone, left, 'email')
  return {
    user: Object.keys(patch).length ? await updateUser(db, claimed, patch, now) : claimed,
    // for an undo that puts an earlier row back: without what the gone links gave it (they stay gone)
    takeBack: (row) => profileGone(row, gone, left, 'email'),
    live, // the link this claim's mail replaces, read under its lock (an undo puts it back)
  }
}

// The links' rows, as the external sign-in (features/callback.ts) reads and writes them.
export async function findIdentity(db: Db, instanceId: string, provider: string, providerId: string): Promise<{ id: string; user_id: string } | null> {
  return db.get<{ id: string; user_id: string }>('SELECT id, user_id FROM {identities} WHERE instance_id = ? AND provider = ? AND provider_id = ?', [instanceId, provider, providerId])
}
/** The link's row under its lock (a locking read sees the latest commit whatever the transaction's snapshot);
 *  false when it is gone. */
export async function lockIdentity(db: Db, instanceId: string, provider: string, providerId: string): Promise<boolean> {
  return (await db.get('SELECT id FROM {identities} WHERE instance_id = ? AND provider = ? AND provider_id = ? FOR UPDATE', [instanceId, provider, providerId])) !== null
}
export async function findIdentityUserId(db: Db, instanceId: string, provider: string, providerId: string): Promise<string | null> {
  return (await findIdentity(db, instanceId, provider, providerId))?.user_id ?? null
}
/** An unconfirmed account's provider links but the one confirming it: they were made through addresses the
 *  providers had not verified, by whoever signed in with them. Returns what they gave the profile, to take back. */
export async function dropOtherIdentities(db: Db, user: UserRow, provider: string, providerId: string): Promise<UserPatch> {
  const links = await db.all<LinkRow & { provider_id: string }>('SELECT id, provider, provider_id, email, identity_data FROM {identities} WHERE user_id = ?', [user.id])
  const gone = links.filter((l) => !(l.provider === provider && l.provider_id === providerId))
  for (const l of gone) await db.run('DELETE FROM {identities} WHERE id = ?', [l.id])
  return profileGone(user, gone, links.filter((l) => !gone.includes(l)), provider)
}
export async function insertIdentity(db: Db, instanceId: string, userId: string, provider: string, pu: ProviderUser, email: string, now: Date): Promise<string> {
  const id = crypto.randomUUID()
  await db.run(
    'INSERT INTO {identities} (id, instance_id, user_id, provider, provider_id, email, identity_data, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    [id, instanceId, userId, provider, pu.id, email, identityData(pu, email), dbTime(now), dbTime(now)],
  )
  return id
}
