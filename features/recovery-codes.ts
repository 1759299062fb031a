// Recovery codes, with supabase/auth's routes (auth-js `mfa.recoveryCodes.*`, enabled there with
// `experimental.recoveryCodes`): one `recovery_code` factor per user holding 10 single-use codes, stored as SHA-256
// hashes (120 random bits each, so a fast hash is enough) and shown only in the answer that made them. Managing them
// takes an aal2 session and a verified TOTP factor (they are a fallback, never the only factor); using one turns
// the session into aal2 with `mfa/recovery_code` in its amr. Wrong codes lock verification for a while.
import { Elysia, t } from 'elysia'
import { actorOf, writeAudit } from '../lib/audit.ts'
import { clientOf } from '../lib/client.ts'
import { sha256 } from '../lib/crypto.ts'
import { type Db, dbTime, parseTime } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody, unauthorized } from '../lib/errors.ts'
import { guards } from '../lib/guards.ts'
import { enforce } from '../lib/limits.ts'
import { Aal2Required, aalOf, deleteFactor, FACTOR_COLUMNS, type FactorRow, factorTx, insertFactor, mfaError, mfaRules, requireMfa, unchanged, userOfClaims } from '../lib/mfa.ts'
import { revocationsChanged } from '../lib/revocations.ts'
import { sessionOf, upgradeSession } from '../lib/sessions.ts'
import { TokenBody } from '../lib/tokens.ts'
import type { UserRow } from '../lib/users.ts'

const CODES = 10
const CODE_LENGTH = 24 // 120 bits: at 112 bits or more a fast hash is enough (ASVS 6.5.2)
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz' // Crockford's base32, lower case: 5 bits a character, no i/l/o/u
const MAX_FAILURES = 5
const LOCKOUT_MS = 15 * 60 * 1000

const Status = t.Object({ id: t.String(), type: t.Literal('recovery_code'), total: t.Integer(), remaining: t.Integer() },
  { description: 'How many recovery codes the user has left (never the codes)' })
const Generated = t.Object({ id: t.String(), type: t.Literal('recovery_code'), friendly_name: t.String(), total: t.Integer(), codes: t.Array(t.String()) },
  { description: 'A new set of recovery codes, shown this once' })
const GenerateBody = t.Optional(t.Object({ friendly_name: t.Optional(t.String({ maxLength: 255 })) }))
const VerifyCodeBody = t.Object({ code: t.String({ maxLength: 128 }) })

const newCode = (): string => Array.from(crypto.getRandomValues(new Uint8Array(CODE_LENGTH)), (b) => ALPHABET[b & 31]).join('')
/** As the user typed it: case, spaces and dashes do not matter. */
const canonical = (code: string): string => code.toLowerCase().replace(/[\s-]/g, '')

async function recoveryFactor(db: Db, user: UserRow): Promise<FactorRow | null> {
  return db.get<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND factor_type = 'recovery_code' LIMIT 1`, [user.instance_id, user.id])
}

/** Replaces the factor's codes with a fresh set (and lifts any lockout); returns the codes in clear, once. */
async function writeCodes(db: Db, factorId: string, instanceId: string, now: Date): Promise<string[]> {
  await db.run('DELETE FROM {mfa_recovery_codes} WHERE factor_id = ?', [factorId])
  const codes = Array.from({ length: CODES }, newCode)
  for (const code of codes) {
    await db.run('INSERT INTO {mfa_recovery_codes} (id, instance_id, factor_id, code_hash, used_at, created_at) VALUES (?, ?, ?, ?, NULL, ?)',
      [crypto.randomUUID(), instanceId, factorId, sha256(canonical(code)), dbTime(now)])
  }
  await db.run('UPDATE {mfa_factors} SET failed_attempts = 0, locked_until = NULL, updated_at = ? WHERE id = ?', [dbTime(now), factorId])
  return codes
}

export function recoveryCodes(deps: Deps) {
  const { config, db, clock, instanceId, limiter } = deps
  const rules = mfaRules(config)
  const none = () => mfaError(404, 'Recovery codes not found', 'mfa_factor_not_found')
  const aal2 = (claims: Parameters<typeof aalOf>[0]) => { if (aalOf(claims) !== 'aal2') throw mfaError(403, 'AAL2 required', 'insufficient_aal') }
  const doc = (summary: string) => ({ summary, tags: ['mfa'], security: [{ bearer: [] }] })
  return new Elysia({ name: 'recovery-codes' })
    .use(guards(deps))
    .model({ 'factors.recovery-status': Status, 'factors.recovery-codes': Generated })
    .get('/factors/recovery-codes', async ({ claims }) => {
      requireMfa(config)
      const user = await userOfClaims(db, instanceId, claims)
      const factor = await recoveryFactor(db, user)
      if (!factor) throw none()
      const counts = await db.get<{ total: number; remaining: number | null }>(
        'SELECT COUNT(*) AS total, SUM(CASE WHEN used_at IS NULL THEN 1 ELSE 0 END) AS remaining FROM {mfa_recovery_codes} WHERE factor_id = ?', [factor.id])
      return { id: factor.id, type: 'recovery_code' as const, total: Number(counts?.total ?? 0), remaining: Number(counts?.remaining ?? 0) }
    }, {
      auth: 'user',
      response: { 200: 'factors.recovery-status', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: doc('How many recovery codes are left'),
    })
    .post('/factors/recovery-codes', async ({ claims, body }) => {
      requireMfa(config)
      aal2(claims)
      const user = await userOfClaims(db, instanceId, claims)
      const now = clock.now()
      const name = body?.friendly_name?.trim() || 'Recovery codes'
      // factorTx: two requests at once would each find no recovery factor yet and each insert one.
      return factorTx(db, user, now, async (tx) => {
        const totp = await tx.get("SELECT id FROM {mfa_factors} WHERE instance_id = ? AND user_id = ? AND factor_type = 'totp' AND status = 'verified' LIMIT 1", [instanceId, user.id])
        if (!totp) throw mfaError(422, 'Recovery codes need another verified factor', 'mfa_recovery_codes_sole_factor')
        if (await recoveryFactor(tx, user)) throw mfaError(422, 'Recovery codes already exist: regenerate them instead', 'mfa_verified_factor_exists')
        const id = crypto.randomUUID()
        await insertFactor(tx, { id, instanceId, userId: user.id, name, type: 'recovery_code', status: 'verified', secret: null, now })
        const codes = await writeCodes(tx, id, instanceId, now)
        await writeAudit(tx, instanceId, actorOf(user), 'recovery_codes_generated', now, { factor_id: id })
        return { id, type: 'recovery_code' as const, friendly_name: name, total: codes.length, codes }
      }, { config, session: sessionOf(claims) })
    }, {
      auth: 'user', body: GenerateBody,
      response: { 200: 'factors.recovery-codes', 400: ErrorBody, 401: ErrorBody, 403: Aal2Required, 404: ErrorBody, 422: ErrorBody },
      detail: doc('Generate recovery codes (aal2; returned once)'),
    })
    .post('/factors/recovery-codes/regenerate', async ({ claims }) => {
      requireMfa(config)
      aal2(claims)
      const user = await userOfClaims(db, instanceId, claims)
      const now = clock.now()
      return factorTx(db, user, now, async (tx) => {
        const factor = await recoveryFactor(tx, user)
        if (!factor) throw none()
        const codes = await writeCodes(tx, factor.id, instanceId, now)
        await writeAudit(tx, instanceId, actorOf(user), 'recovery_codes_generated', now, { factor_id: factor.id, regenerated: true })
        return { id: factor.id, type: 'recovery_code' as const, friendly_name: factor.friendly_name, total: codes.length, codes }
      }, { config, session: sessionOf(claims) })
    }, {
      auth: 'user',
      response: { 200: 'factors.recovery-codes', 400: ErrorBody, 401: ErrorBody, 403: Aal2Required, 404: ErrorBody, 422: ErrorBody },
      detail: doc('Replace the recovery codes with a new set (aal2; the old set stops working)'),
    })
    .delete('/factors/recovery-codes', async ({ claims }) => {
      requireMfa(config)
      aal2(claims)
      const user = await userOfClaims(db, instanceId, claims)
      const now = clock.now()
      const id = await factorTx(db, user, now, async (tx) => {
        const factor = await recoveryFactor(tx, user)
        return factor && (await deleteFactor(tx, user, factor, now)) ? factor.id : unchanged(null)
      }, { config, session: sessionOf(claims) })
      if (!id) throw none()
      return { id }
    }, {
      auth: 'user',
      response: { 200: t.Object({ id: t.String() }), 400: ErrorBody, 401: ErrorBody, 403: Aal2Required, 404: ErrorBody, 422: ErrorBody },
      detail: doc('Remove the recovery codes (aal2)'),
    })
    .post('/factors/recovery-codes/verify', async ({ claims, body, request, server }) => {
      requireMfa(config)
      const now = clock.now()
      await enforce(limiter, rules.client, [clientOf(config, request, server)], now.getTime())
      const user = await userOfClaims(db, instanceId, claims)
      const session = sessionOf(claims)
      if (!session) throw unauthorized('Invalid token: no session')
      // factorTx: the failure count below is read, counted and written back; parallel guesses each wait for the
      // previous one's commit and count on from it, so they cannot outrun the lockout.
      const result = await factorTx(db, user, now, async (tx) => {
        const factor = await recoveryFactor(tx, user)
        if (!factor) return unchanged('wrong' as const)
        // Locked: right codes are refused too, so a guesser learns nothing until the lock lifts.
        if ((parseTime(factor.locked_until) ?? 0) > now.getTime()) return unchanged('locked' as const)
        const code = await tx.get<{ id: string }>('SELECT id FROM {mfa_recovery_codes} WHERE factor_id = ? AND code_hash = ? AND used_at IS NULL', [factor.id, sha256(canonical(body.code))])
        const used = code && (await tx.run('UPDATE {mfa_recovery_codes} SET used_at = ? WHERE id = ? AND used_at IS NULL', [dbTime(now), code.id])).changes > 0
        if (!used) {
          const failures = factor.failed_attempts + 1
          const lock = failures >= MAX_FAILURES
          await tx.run('UPDATE {mfa_factors} SET failed_attempts = ?, locked_until = ? WHERE id = ?',
            [lock ? 0 : failures, lock ? dbTime(new Date(now.getTime() + LOCKOUT_MS)) : factor.locked_until, factor.id])
          await writeAudit(tx, instanceId, actorOf(user), 'challenge_failed', now, { factor_id: factor.id, factor_type: 'recovery_code', locked: lock })
          tx.notices.notify('challenge_failed', user, factor.id, 'recovery_code')
          return 'wrong' as const
        }
        await tx.run('UPDATE {mfa_factors} SET failed_attempts = 0, updated_at = ? WHERE id = ?', [dbTime(now), factor.id])
        const tokens = await upgradeSession(tx, config, user, session, 'mfa/recovery_code', now)
        if (!tokens) throw unauthorized('Invalid token: session has ended')
        await writeAudit(tx, instanceId, actorOf(user), 'recovery_code_used', now, { factor_id: factor.id, session_id: session })
        tx.notices.notify('recovery_code_used', user, factor.id, 'recovery_code')
        return tokens
      }, { config, session: sessionOf(claims) })
      if (result === 'locked') throw mfaError(429, 'Too many failed attempts: recovery codes are locked for a while', 'mfa_recovery_codes_locked', { 'Retry-After': String(LOCKOUT_MS / 1000) })
      if (result === 'wrong') throw mfaError(422, 'Invalid recovery code', 'mfa_verification_failed')
      // The user's other aal1 sessions ended with the upgrade (lib/sessions.ts): read again after the commit.
      revocationsChanged()
      return result
    }, {
      auth: 'user', body: VerifyCodeBody,
      response: { 200: TokenBody, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
      detail: doc('Use one recovery code: a new aal2 token pair for this session'),
    })
}
