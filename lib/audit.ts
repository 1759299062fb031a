// The audit log: one insert every feature uses, written in the same transaction as the action it records.
import { type Db, dbTime } from './db/index.ts'
import type { UserRow } from './users.ts'
import { parseMeta } from './users.ts'

export type AuditAction = 'login' | 'logout' | 'invite_accepted' | 'user_signedup' | 'user_invited' | 'user_deleted' |
  'user_modified' | 'user_recovery_requested' | 'token_refreshed' | 'token_revoked' | 'session_created' | 'session_revoked' |
  'factor_enrolled' | 'factor_verified' | 'factor_deleted' | 'challenge_failed' | 'recovery_codes_generated' | 'recovery_code_used' |
  'user_reauthenticate_requested'

const LOG_TYPE: Record<AuditAction, string> = {
  login: 'account', logout: 'account', invite_accepted: 'account',
  user_signedup: 'team', user_invited: 'team', user_deleted: 'team',
  user_modified: 'user', user_recovery_requested: 'user', user_reauthenticate_requested: 'user',
  token_refreshed: 'token', token_revoked: 'token',
  // A session is a refresh-token family: its start and end are token events (a refresh is token_refreshed).
  session_created: 'token', session_revoked: 'token',
  // Second factors: changes to them are the user's account; a failed or used one is an authentication event.
  factor_enrolled: 'user', factor_verified: 'user', factor_deleted: 'user', recovery_codes_generated: 'user',
  challenge_failed: 'account', recovery_code_used: 'account',
}

export interface Actor { id: string; email: string; name?: string }
export const actorOf = (u: Pick<UserRow, 'id' | 'email' | 'raw_user_meta_data'>): Actor => {
  const name = parseMeta(u.raw_user_meta_data).full_name
  return { id: u.id, email: u.email, ...(typeof name === 'string' && name ? { name } : {}) }
}

/** One entry, or several for one actor at once (a refresh records token_refreshed and token_revoked) in a single
 *  multi-row INSERT — one statement on the refresh hot path instead of two. Nothing reads it back in the same
 *  transaction, so it goes with the transaction's next statement or its COMMIT (Db.later). */
export async function writeAudit(db: Db, instanceId: string, actor: Actor, action: AuditAction | AuditAction[], now: Date, traits?: Record<string, unknown>): Promise<void> {
  const rows: (string | number)[] = []
  for (const a of Array.isArray(action) ? action : [action]) {
    const payload: Record<string, unknown> = {
      timestamp: now.toISOString(), actor_id: actor.id, actor_email: actor.email,
      ...(actor.name ? { actor_name: actor.name } : {}), action: a, log_type: LOG_TYPE[a],
      ...(traits ? { traits } : {}),
    }
    // Time-ordered (v7) ids: appended to the primary-key index rather than scattered over it (see lib/tokens.ts).
    rows.push(instanceId, Bun.randomUUIDv7(), JSON.stringify(payload), dbTime(now))
  }
  const values = Array.from({ length: rows.length / 4 }, () => '(?, ?, ?, ?)').join(', ')
  await db.later(`INSERT INTO {audit_log_entries} (instance_id, id, payload, created_at) VALUES ${values}`, rows)
}
