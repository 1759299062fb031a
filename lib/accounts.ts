// The account-writing steps that signup, invite, external sign-in, the admin API, PUT /user and /verify share:
// the email checks and the "already registered" answers, the row a new user gets, the validate webhook on that
// row before it is written, metadata merges checked against GOTRUE_USER_DATA_SCHEMA, and the undo of a write
// whose mail or webhook failed after the commit. Plain functions of deps and values: each feature still reads
// top to bottom and keeps its own SQL, decisions and routes.
import { type Db, parseTime, UniqueViolation } from './db/index.ts'
import type { Deps } from './deps.ts'
import { badRequest, HttpError, internal, unprocessable } from './errors.ts'
import { findOtpForUser, insertOtp, type OtpRow, type OtpType, revokeOtp } from './otp.ts'
import { safeEqual, sha256 } from './crypto.ts'
import {
  deleteUser, emailProblem, findUserByEmail, findUserById, mergeMeta, type Metadata, type NewUser, newUserRow, parseMeta, toUser, updateUser,
  type UserPatch, type UserRow,
} from './users.ts'
import { type HookEvent, replyPatch } from './webhooks.ts'

// ── email ────────────────────────────────────────────────────────────────────────────────────────────────────

/** The trimmed address a request body names; 422 when it names none. */
export function requiredEmail(raw: string | undefined): string {
  const email = (raw ?? '').trim()
  if (!email) throw unprocessable('An email address is required')
  return email
}

/** 422 unless `email` is a plain addr-spec (see emailProblem); returns it. */
export function checkEmail(email: string): string {
  const problem = emailProblem(email)
  if (problem) throw unprocessable(`Unable to validate email address: ${problem}`)
  return email
}

/** Another user of the audience holds the address (invite, admin create and update, email changes). */
export const emailTaken = () => unprocessable('Email address already registered by another user')
/** /signup's answer for an address it may not sign up (again): the reference's status and words. */
export const alreadyRegistered = () => badRequest('A user with this email address has already been registered')

/** 422 emailTaken when a user of `aud` other than `self` holds the address. */
export async function requireFreeEmail(db: Db, instanceId: string, aud: string, email: string, self?: string): Promise<void> {
  const other = await findUserByEmail(db, instanceId, aud, email)
  if (other && other.id !== self) throw emailTaken()
}

/** For `.catch` after a write: a concurrent write of the same address loses at the unique index, and is answered
 *  as if the check before it had seen the winner. */
export function takenOnDuplicate(e: unknown): never {
  throw e instanceof UniqueViolation ? emailTaken() : e
}

// ── metadata ─────────────────────────────────────────────────────────────────────────────────────────────────

/** 422 with the schema's message when `data` fails GOTRUE_USER_DATA_SCHEMA; returns it. */
export function checkUserData(deps: Deps, data: Metadata): Metadata {
  const invalid = deps.validateUserData?.(data)
  if (invalid) throw unprocessable(invalid)
  return data
}

/** A stored metadata column with `patch` merged in (null values delete keys), ready to store. */
export const mergedMeta = (raw: string | null, patch: Metadata): string => JSON.stringify(mergeMeta(parseMeta(raw), patch))

/** user_metadata with `patch` merged in, checked after the merge: the schema describes the whole object. */
export const mergedUserData = (deps: Deps, raw: string | null, patch: Metadata): string =>
  JSON.stringify(checkUserData(deps, mergeMeta(parseMeta(raw), patch)))

// ── a new user ───────────────────────────────────────────────────────────────────────────────────────────────

type AccountFields = Omit<NewUser, 'instanceId' | 'role' | 'encryptedPassword'> & { role?: string; encryptedPassword?: string }
/** A new user's fields: this instance, the default role and no password unless given. */
export function newAccount<A extends AccountFields>(deps: Deps, a: A): NewUser & Pick<A, 'id'> {
  return { ...a, instanceId: deps.instanceId, role: a.role ?? deps.config.jwt.default_group_name, encryptedPassword: a.encryptedPassword ?? '' }
}

/** The validate webhook on the row a new user would have, before it is written, so no transaction is held while
 *  the receiver answers. The id is fixed first so that the receiver sees the real one. A reply's app_metadata /
 *  user_metadata (objects: the reply parser admits nothing else) replace the ones to insert; a refusal throws, and
 *  nothing was written. */
export async function validateNewUser(deps: Deps, fields: NewUser & { id: string }): Promise<NewUser & { id: string }> {
  if (!deps.webhooks.wants('validate')) return fields
  const reply = await deps.webhooks.send('validate', deps.instanceId, toUser(newUserRow(fields)))
  return { ...fields, appMetadata: reply?.app_metadata ?? fields.appMetadata, userMetadata: reply?.user_metadata ?? fields.userMetadata }
}

/** One webhook about `user`, its reply as a user update (a present app_metadata / user_metadata replaces the stored). */
export async function hookPatch(deps: Deps, event: HookEvent, user: UserRow): Promise<UserPatch> {
  return replyPatch(await deps.webhooks.send(event, deps.instanceId, toUser(user)))
}

// ── undo ─────────────────────────────────────────────────────────────────────────────────────────────────────
// Mail and webhooks run after the commit (never while the database is held). Where the contract says the request
// fails when they fail, what was just written is taken back in a second short transaction.

/** Takes back a write in its own transaction. The client is shown the original failure; an undo that fails too is
 *  logged as `could not undo <what>`. */
export async function undo(deps: Deps, what: string, fn: (tx: Db) => Promise<unknown>): Promise<void> {
  await deps.db.tx(fn).catch((e) => deps.log.error(`could not undo ${what}`, { error: e }))
}

/** Sends a mail that the request stands or falls with: when it fails, `revert` undoes the write and the request
 *  fails with the mailer's HttpError, or a 500 with `failure`. */
export async function mailOrUndo(
  deps: Deps, send: () => Promise<unknown>, failure: string, what: string, revert: (tx: Db) => Promise<unknown>,
): Promise<void> {
  try {
    await send()
  } catch (e) {
    await undo(deps, what, revert)
    throw e instanceof HttpError ? e : internal(failure, e)
  }
}

/** The values `row` has in the given columns: what an undo writes back. */
export function columnsOf(row: UserRow, columns: (keyof UserPatch)[]): UserPatch {
  const out: UserPatch = {}
  for (const c of columns) Object.assign(out, { [c]: row[c] })
  return out
}

/** Columns an undo may compare: times compare as instants (MySQL's binary protocol answers a DATETIME(3) at a whole
 *  second without its ".000"), text as text. */
const sameValue = (column: string, a: unknown, b: unknown): boolean =>
  column.endsWith('_at') ? parseTime(a as string | null) === parseTime(b as string | null) : a === b
/** What decides who holds the account: an undo puts nothing of these back once any of them moved. */
const DECISIVE: (keyof UserRow)[] = ['confirmed_at', 'email', 'encrypted_password', 'email_change', 'invited_at']
/** What only keeps the books of a request (a pending change, the time a mail went): an undo puts each back while it
 *  still holds this request's value, whatever else moved (else a change the failed mail never delivered would stay
 *  pending, to be mailed again by /resend, and the failed mail would hold the window shut). */
const BOOKKEEPING = new Set<string>(['email_change', 'email_change_sent_at', 'confirmation_sent_at'])

/** The undo of a request whose mail failed. A mail can hang for many seconds before it fails; meanwhile the
 *  address's owner may have confirmed, recovered or signed up again, and an undo written over that would put back a
 *  password or a link someone else chose, or delete the owner's account. So: while this request's own token
 *  (`issued`, raw) is the live one and the decisive columns are as the request left them (`user`), everything goes
 *  back; otherwise only this request's own token goes, and each bookkeeping column that still holds what it wrote.
 *  Reads the token, then the row, under their locks (verify's order). */
async function undoState(tx: Db, deps: Deps, user: UserRow, type: OtpType, issued: string) {
  const live = await findOtpForUser(tx, user.id, type)
  const ours = live !== null && safeEqual(live.token_hash, sha256(issued))
  const row = await findUserById(tx, deps.instanceId, user.id, true)
  const untouched = ours && row !== null && DECISIVE.every((c) => sameValue(c, row[c], user[c]))
  return { ours, row, untouched }
}
async function undoBookkeeping(tx: Db, deps: Deps, user: UserRow, row: UserRow | null, columns: UserPatch, ours: boolean): Promise<void> {
  if (!row) return
  // A pending change is this request's only while its token is the live one: a later request for the same address
  // holds the live token now, and clearing the columns would hide that link from a recovery.
  const mine = (c: string) => ours || (c !== 'email_change' && c !== 'email_change_sent_at')
  const back = Object.fromEntries(Object.entries(columns).filter(([c]) =>
    BOOKKEEPING.has(c) && mine(c) && sameValue(c, row[c as keyof UserRow], user[c as keyof UserRow]))) as UserPatch
  if (Object.keys(back).length) await updateUser(tx, row, back, deps.clock.now())
}

/** Puts the columns back and the user's token of `type` with them: removed, or the earlier one reinstated so that
 *  the link already mailed works again (see undoState for what an undo may still write). */
export async function restoreUser(tx: Db, deps: Deps, user: UserRow, columns: UserPatch, type: OtpType, earlier: OtpRow | null, issued: string): Promise<void> {
  const { ours, row, untouched } = await undoState(tx, deps, user, type, issued)
  if (ours) await revokeOtp(tx, user.id, type)
  if (!untouched || !row) return undoBookkeeping(tx, deps, user, row, columns, ours)
  if (earlier) await insertOtp(tx, deps.instanceId, earlier)
  // Each column goes back while it holds what this request wrote (the decisive ones do: untouched). A column
  // written since stays as it is, even the metadata, which others merge into (an admin, the user's other tab): their
  // write carried this request's keys along, and a key cannot be told apart from the same value written since, so
  // taking keys back could undo a write its client was told succeeded. This request's keys then stay with it.
  const back = Object.fromEntries(Object.entries(columns).filter(([c]) => sameValue(c, row[c as keyof UserRow], user[c as keyof UserRow]))) as UserPatch
  if (Object.keys(back).length) await updateUser(tx, row, back, deps.clock.now())
}

/** Deletes an account this request created, once its mail failed, while it is as the request left it (undoState);
 *  else only this request's own token goes (someone else's request has written the row since). */
export async function deleteCreated(tx: Db, deps: Deps, user: UserRow, type: OtpType, issued: string): Promise<void> {
  const { ours, untouched } = await undoState(tx, deps, user, type, issued)
  if (untouched) return deleteUser(tx, user.id)
  if (ours) await revokeOtp(tx, user.id, type)
}

