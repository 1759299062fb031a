// TOTP factors, with supabase/auth's routes and shapes (so @supabase/auth-js's `mfa.*` works unmodified):
// POST /factors enrolls one (secret, otpauth:// URI and QR code, shown once), POST /factors/{id}/challenge opens a
// challenge, POST /factors/{id}/verify answers it with a code and turns the session into aal2 (a new token pair
// whose `amr` lists the factor), DELETE /factors/{id} removes one (aal2 once the user has a verified factor).
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { clientOf } from '../lib/client.ts'
import { dbTime, parseTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { errorBody, ErrorBody, unauthorized } from '../lib/errors.ts'
import { guards } from '../lib/guards.ts'
import { isUuid } from '../lib/ids.ts'
import { enforce } from '../lib/limits.ts'
import {
  Aal2Required, aalOf, deleteFactor, FACTOR_COLUMNS, type FactorRow, factorTx, findFactor, hasVerifiedFactor, insertFactor, mfaError, mfaRules,
  openSecret, requireAal2IfVerified, requireMfa, sealSecret, unchanged, UNVERIFIED_FACTOR_TTL_MS, userFactors, userOfClaims,
} from '../lib/mfa.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { sessionOf, upgradeSession } from '../lib/sessions.ts'
import { TokenBody } from '../lib/tokens.ts'
import { matchStep, newTotpSecret, otpauthUri, qrSvg } from '../lib/totp.ts'

export const EnrollBody = t.Object({
  factor_type: t.String({ maxLength: 32 }),
  friendly_name: t.Optional(t.String({ maxLength: 255 })),
  issuer: t.Optional(t.String({ maxLength: 255 })),
  phone: t.Optional(t.String({ maxLength: 32 })),
})
export const Enrolled = t.Object({
  id: t.String(), type: t.Literal('totp'), friendly_name: t.String(),
  totp: t.Object({ qr_code: t.String({ description: 'SVG' }), secret: t.String({ description: 'base32' }), uri: t.String({ description: 'otpauth://totp/…' }) }),
}, { description: 'A new, unverified TOTP factor: show the QR code (or the secret) once' })
export const Challenge = t.Object({ id: t.String(), type: t.Literal('totp'), expires_at: t.Integer({ description: 'Unix seconds' }) })
export const VerifyBody = t.Object({ challenge_id: t.String({ maxLength: 64 }), code: t.String({ maxLength: 64 }) })
const FactorParams = t.Object({ id: t.String({ maxLength: 64 }) })
const Deleted = t.Object({ id: t.String() })

export function factors(deps: Deps) {
  const { config, db, clock, instanceId, limiter } = deps
  const rules = mfaRules(config)
  const notFoundFactor = () => mfaError(404, 'Factor not found', 'mfa_factor_not_found')
  const doc = (summary: string) => ({ summary, tags: ['mfa'], security: [{ bearer: [] }] })
  return new Elysia({ name: 'factors' })
    .use(guards(deps))
    .model({ 'factors.enroll': EnrollBody, 'factors.enrolled': Enrolled, 'factors.challenge': Challenge, 'factors.verify': VerifyBody })
    .post('/factors', async ({ claims, body }) => {
      requireMfa(config)
      if (body.factor_type !== 'totp') throw mfaError(422, `Factor type ${body.factor_type} is not supported`, `mfa_${body.factor_type === 'phone' ? 'phone' : 'webauthn'}_enroll_not_enabled`)
      const user = await userOfClaims(db, instanceId, claims)
      const now = clock.now()
      const id = crypto.randomUUID()
      const secret = newTotpSecret()
      const issuer = body.issuer?.trim() || new URL(config.site_url || 'http://localhost').hostname
      const name = body.friendly_name?.trim() ?? ''
      await factorTx(db, user, now, async (tx) => {
        // Asked here, after factorTx, not before: a first factor verified meanwhile makes this an aal2 action.
        await requireAal2IfVerified(tx, instanceId, user.id, claims)
        const sealed = sealSecret(config, instanceId, id, secret) // after the aal check, as its 422 (no key) always was
        // Unverified factors past their day go first: they neither count against the cap nor hold a name.
        await tx.run("DELETE FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND status = 'unverified' AND created_at < ?",
          [instanceId, user.id, dbTime(new Date(now.getTime() - UNVERIFIED_FACTOR_TTL_MS))])
        const existing = await userFactors(tx, instanceId, user.id, now)
        if (existing.length >= config.mfa.max_enrolled_factors) throw mfaError(422, 'Maximum number of enrolled factors reached, unenroll to continue', 'too_many_enrolled_mfa_factors')
        if (name && existing.some((f) => f.friendly_name === name)) throw mfaError(422, `A factor with the friendly name "${name}" for this user already exists`, 'mfa_factor_name_conflict')
        await insertFactor(tx, { id, instanceId, userId: user.id, name, type: 'totp', status: 'unverified', secret: sealed, now })
        await writeAudit(tx, instanceId, actorOf(user), 'factor_enrolled', now, { factor_id: id, factor_type: 'totp' })
        tx.notices.notify('factor_enrolled', user, id, 'totp')
      }, { config, session: sessionOf(claims) })
      const uri = otpauthUri(secret, issuer, user.email)
      return { id, type: 'totp' as const, friendly_name: name, totp: { qr_code: qrSvg(uri), secret, uri } }
    }, {
      auth: 'user', body: 'factors.enroll',
      response: { 200: 'factors.enrolled', 400: ErrorBody, 401: ErrorBody, 403: Aal2Required, 404: ErrorBody, 422: ErrorBody },
      detail: doc('Enroll a TOTP factor (unverified until its first challenge is verified)'),
    })
    .post('/factors/:id/challenge', async ({ claims, params, request, server }) => {
      requireMfa(config)
      const now = clock.now()
      await enforce(limiter, rules.client, [clientOf(config, request, server)], now.getTime())
      const user = await userOfClaims(db, instanceId, claims)
      if (!isUuid(params.id)) throw notFoundFactor()
      const id = crypto.randomUUID()
      await db.tx(async (tx) => {
        // Locked: a delete of the factor committed meanwhile is then a 404, not a foreign-key error on the insert.
        const factor = await findFactor(tx, instanceId, user.id, params.id, now, true)
        if (!factor || factor.factor_type !== 'totp') throw notFoundFactor()
        await tx.run('INSERT INTO {mfa_challenges} (id, instance_id, factor_id, created_at, verified_at) VALUES (?, ?, ?, ?, NULL)', [id, instanceId, factor.id, dbTime(now)])
        await tx.run('UPDATE {mfa_factors} SET last_challenged_at = ? WHERE id = ?', [dbTime(now), factor.id])
      })
      return { id, type: 'totp' as const, expires_at: Math.floor(now.getTime() / 1000) + config.mfa.challenge_expiry_duration }
    }, {
      auth: 'user', params: FactorParams,
      response: { 200: 'factors.challenge', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
      detail: doc('Open a challenge for a factor'),
    })
    .post('/factors/:id/verify', async ({ claims, params, body, request, server }) => {
      requireMfa(config)
      const now = clock.now()
      await enforce(limiter, rules.client, [clientOf(config, request, server)], now.getTime())
      if (!isUuid(params.id)) throw notFoundFactor()
      const user = await userOfClaims(db, instanceId, claims)
      // Counted per user and factor: keyed by the factor alone, anyone who learnt a factor's id could spend its
      // owner's attempts from an account of their own. Whoever guesses codes for this factor holds this user's
      // token (the password), so the guesses still count where the owner's do.
      await enforce(limiter, rules.factor, [`${user.id}/${params.id}`], now.getTime())
      const session = sessionOf(claims)
      if (!session) throw unauthorized('Invalid token: no session')
      // A wrong code is recorded (audit row, notice) and refused, and its transaction commits; the challenge stays
      // open until it expires, so guesses are bounded by the per-factor limit above. Outcomes that change nothing
      // (no such factor or challenge, aal1) roll back (unchanged).
      const result = await factorTx(db, user, now, async (tx) => {
        const factor = await tx.get<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM {mfa_factors} WHERE id = ? AND instance_id = ? AND user_id = ?`, [params.id, instanceId, user.id])
        if (!factor || factor.factor_type !== 'totp' || !(await findFactor(tx, instanceId, user.id, factor.id, now))) return unchanged('no-factor' as const)
        // Verifying a new factor adds what protects the account, as enrolling does: aal2 once one is verified.
        // Else a factor enrolled with the password alone before the owner turned MFA on (its secret kept by
        // whoever enrolled it) would turn a later aal1 session into aal2 with no second factor at all.
        if (factor.status !== 'verified' && aalOf(claims) !== 'aal2' && await hasVerifiedFactor(tx, instanceId, user.id)) return unchanged('aal1' as const)
        const challenge = isUuid(body.challenge_id)
          ? await tx.get<{ id: string; created_at: string; verified_at: string | null }>('SELECT id, created_at, verified_at FROM {mfa_challenges} WHERE id = ? AND factor_id = ?', [body.challenge_id, factor.id])
          : null
        if (!challenge || challenge.verified_at) return unchanged('no-challenge' as const)
        if (now.getTime() - (parseTime(challenge.created_at) ?? 0) > config.mfa.challenge_expiry_duration * 1000) {
          await tx.run('DELETE FROM {mfa_challenges} WHERE id = ?', [challenge.id])
          return 'expired' as const
        }
        const step = matchStep(openSecret(config, instanceId, factor.id, factor.secret ?? ''), body.code.trim(), now.getTime())
        // The step is claimed with a compare-and-set: a code already accepted (here or by a parallel request) is refused.
        const claimed = step !== null && step > factor.last_step
          && (await tx.run("UPDATE {mfa_factors} SET last_step = ?, status = 'verified', updated_at = ? WHERE id = ? AND last_step < ?", [step, dbTime(now), factor.id, step])).changes > 0
        if (!claimed) {
          await writeAudit(tx, instanceId, actorOf(user), 'challenge_failed', now, { factor_id: factor.id })
          tx.notices.notify('challenge_failed', user, factor.id, 'totp')
          return 'wrong' as const
        }
        await tx.run('DELETE FROM {mfa_challenges} WHERE id = ?', [challenge.id])
        // The first verified factor ends every other pending enrollment: one the owner abandoned, or one planted
        // with the password alone while the account had no MFA. From now on only an aal2 session enrolls.
        if (factor.status !== 'verified') {
          const pending = await tx.all<{ id: string }>("SELECT id FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND status = 'unverified' AND id <> ?", [instanceId, user.id, factor.id])
          for (const p of pending) {
            await tx.run("DELETE FROM {mfa_factors} WHERE id = ? AND status = 'unverified'", [p.id])
            await writeAudit(tx, instanceId, actorOf(user), 'factor_deleted', now, { factor_id: p.id, reason: 'another factor was verified' })
            tx.notices.notify('factor_deleted', user, p.id, 'totp')
          }
        }
        const tokens = await upgradeSession(tx, config, user, session, 'totp', now)
        if (!tokens) throw unauthorized('Invalid token: session has ended')
        await writeAudit(tx, instanceId, actorOf(user), 'factor_verified', now, { factor_id: factor.id, session_id: session, first: factor.status !== 'verified' })
        tx.notices.notify('factor_verified', user, factor.id, 'totp')
        return tokens
      }, { config, session: sessionOf(claims) })
      if (result === 'no-factor') throw notFoundFactor()
      if (result === 'aal1') throw mfaError(403, 'AAL2 required to verify a new factor', 'insufficient_aal')
      if (result === 'no-challenge') throw mfaError(404, 'MFA challenge not found', 'mfa_challenge_not_found')
      if (result === 'expired') throw mfaError(422, 'MFA challenge has expired, verify against another challenge or create a new factor', 'mfa_challenge_expired')
      if (result === 'wrong') throw mfaError(422, 'Invalid TOTP code entered', 'mfa_verification_failed')
      // The user's aal1 sessions ended with the upgrade (lib/sessions.ts): read again after the commit.
      revocationsChanged()
      return result
    }, {
      auth: 'user', params: FactorParams, body: 'factors.verify',
      response: { 200: TokenBody, 400: ErrorBody, 401: ErrorBody, 403: errorBody(403, 'AAL2 required to verify a new factor'), 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
      detail: doc('Verify a challenge with a TOTP code: a new aal2 token pair for this session (aal2 to verify a new factor once one is verified)'),
    })
    .delete('/factors/:id', async ({ claims, params }) => {
      requireMfa(config)
      const user = await userOfClaims(db, instanceId, claims)
      if (!isUuid(params.id)) throw notFoundFactor()
      const now = clock.now()
      const gone = await factorTx(db, user, now, async (tx) => {
        // Asked here, after factorTx: a factor verified meanwhile makes this an aal2 action.
        await requireAal2IfVerified(tx, instanceId, user.id, claims)
        const factor = await findFactor(tx, instanceId, user.id, params.id, now)
        return factor && factor.factor_type === 'totp' && await deleteFactor(tx, user, factor, now) ? true : unchanged(false)
      }, { config, session: sessionOf(claims) })
      if (!gone) throw notFoundFactor()
      return { id: params.id }
    }, {
      auth: 'user', params: FactorParams,
      response: { 200: Deleted, 400: ErrorBody, 401: ErrorBody, 403: Aal2Required, 404: ErrorBody, 422: ErrorBody },
      detail: doc('Unenroll a factor (aal2 required once the user has a verified factor)'),
    })
}
