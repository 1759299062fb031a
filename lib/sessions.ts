// Sessions: a family of refresh tokens (lib/tokens.ts) is a session. Access tokens carry its id as `session_id`
// (supabase/auth's claim), so a request made with an access token knows which session made it. Each family has a
// row in {sessions} (who, when, a coarse device summary from lib/devices.ts, its aal and sign-in methods,
// revoked_at): the user's list of devices, and how a revocation reaches access tokens (lib/revocations.ts).
import { t } from 'elysia'
import { actorOf, writeAudit } from './audit.ts'
import type { Config } from './config.ts'
import { randomToken } from './crypto.ts'
import { type Db, dbTime, parseTime } from './db/index.ts'
import { ipSummary, userAgentSummary } from './devices.ts'
import { type FactorJson, factorJson, hasVerifiedFactor, userFactors } from './mfa.ts'
import { revocationsChanged } from './revocations.ts'
import { type AmrEntry, insertRefreshToken, type SessionAuth, tokenResponse, type TokenResponse } from './tokens.ts'
import { factorFlag, USER_COLUMNS, type UserRow } from './users.ts'

/** Where a session was started from, as the request tells it (both optional: summaries stay empty without them). */
export interface SessionOrigin { userAgent?: string | null; client?: string; method?: string }

/** Starts a new token family for the user (login, verify, external sign-in) and returns the token response.
 *  With GOTRUE_SESSIONS_SINGLE_PER_USER the user's other sessions end here, in the same transaction. */
export async function issueSession(db: Db, config: Config, user: UserRow, now: Date, origin: SessionOrigin = {}): Promise<TokenResponse> {
  const raw = randomToken()
  const familyId = Bun.randomUUIDv7()
  if (config.sessions.single_per_user) {
    const ended = await endOtherSessions(db, user, null, now, 'single_per_user')
    if (ended) await writeAudit(db, user.instance_id, actorOf(user), 'session_revoked', now, { reason: 'single_per_user', sessions: ended })
  }
  const notAfter = config.sessions.timebox > 0 ? dbTime(new Date(now.getTime() + config.sessions.timebox * 1000)) : null
  const auth: SessionAuth = { aal: 'aal1', amr: [{ method: origin.method ?? 'password', timestamp: Math.floor(now.getTime() / 1000) }] }
  await insertSession(db, { id: familyId, instanceId: user.instance_id, userId: user.id, now, notAfter, userAgent: userAgentSummary(origin.userAgent), ip: ipSummary(origin.client), amr: auth.amr })
  await insertRefreshToken(db, { instanceId: user.instance_id, userId: user.id, raw, familyId, parentId: null, now })
  await writeAudit(db, user.instance_id, actorOf(user), 'session_created', now, { session_id: familyId })
  db.notices.notify('session_created', user, familyId)
  return tokenResponse(config, user, raw, now, familyId, { ...auth, factors: await factorsOf(db, config, user.instance_id, user.id, now) })
}

/** The factors a session answer lists (none when MFA is off). */
const factorsOf = async (db: Db, config: Config, instanceId: string, userId: string, now: Date): Promise<FactorJson[]> =>
  config.mfa.enabled ? (await userFactors(db, instanceId, userId, now)).map(factorJson) : []

/** Why a session ended, as the session_revoked notification names it (lib/notices.ts). */
export type EndReason = 'logout' | 'user' | 'admin' | 'credentials_changed' | 'single_per_user' | 'aal2_reached' | 'refresh_token_reused' | 'address_proven'

/** The ids of the user's live sessions a bulk end is about to revoke, for their session_revoked notifications;
 *  none looked up when nobody is subscribed. Locked like the UPDATE that follows, so the two see the same rows. */
async function endingIds(db: Db, sql: string, params: (string | null)[]): Promise<{ id: string }[]> {
  return db.notices.wants('session_revoked') ? db.all<{ id: string }>(`SELECT id FROM {sessions} WHERE ${sql} FOR UPDATE`, params) : []
}

/** After a change of password or email (by the user, a recovery or an admin), a global logout or a login with
 *  GOTRUE_SESSIONS_SINGLE_PER_USER: every session of the user ends but `keep`, the one that made the change (null:
 *  all of them). Called inside the transaction that writes the change, so a device signed in with the old
 *  credentials cannot refresh its way past it; the sessions are marked revoked, so their access tokens are refused
 *  too (lib/revocations.ts). Returns how many sessions ended. */
export async function endOtherSessions(db: Db, user: UserRow, keep: string | null, now: Date, reason: EndReason): Promise<number> {
  const { instance_id: instanceId, id: userId } = user
  const ids = await endingIds(db, 'instance_id = ? AND user_id = ? AND id <> ? AND revoked_at IS NULL', [instanceId, userId, keep ?? ''])
  await db.run('DELETE FROM {refresh_tokens} WHERE instance_id = ? AND user_id = ? AND family_id <> ?', [instanceId, userId, keep ?? ''])
  const { changes } = await db.run('UPDATE {sessions} SET revoked_at = ? WHERE instance_id = ? AND user_id = ? AND id <> ? AND revoked_at IS NULL',
    [dbTime(now), instanceId, userId, keep ?? ''])
  if (changes) revocationsChanged()
  for (const r of ids) db.notices.notify('session_revoked', user, r.id, reason)
  return changes
}

/** Ends one session of the user: its refresh tokens go, its access tokens are refused. False when the user has no
 *  such live session. */
export async function endSession(db: Db, user: UserRow, sessionId: string, now: Date, reason: EndReason): Promise<boolean> {
  const { instance_id: instanceId, id: userId } = user
  const { changes } = await db.run('UPDATE {sessions} SET revoked_at = ? WHERE id = ? AND instance_id = ? AND user_id = ? AND revoked_at IS NULL',
    [dbTime(now), sessionId, instanceId, userId])
  // Also without a row: a family from before sessions were recorded still has refresh tokens to end.
  const tokens = await db.run('DELETE FROM {refresh_tokens} WHERE family_id = ? AND instance_id = ? AND user_id = ?', [sessionId, instanceId, userId])
  if (changes) {
    revocationsChanged()
    db.notices.notify('session_revoked', user, sessionId, reason)
  }
  return changes > 0 || tokens.changes > 0
}

interface SessionInsert { id: string; instanceId: string; userId: string; now: Date; notAfter: string | null; userAgent: string; ip: string; amr?: AmrEntry[] }
export async function insertSession(db: Db, s: SessionInsert): Promise<void> {
  await db.run('INSERT INTO {sessions} (id, instance_id, user_id, aal, user_agent, ip, created_at, refreshed_at, not_after, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, NULL)',
    [s.id, s.instanceId, s.userId, 'aal1', s.userAgent, s.ip, dbTime(s.now), s.notAfter])
  for (const e of s.amr ?? []) await recordMethod(db, s.id, e.method, s.now)
}

/** A method used in a session: one row per method, holding its latest use. One upsert, not a delete then an
 *  insert: on MySQL a DELETE that matches nothing still locks the index gap, and two sign-ins whose new sessions
 *  fall in the same gap then each wait for the other's insert: a deadlock on most concurrent logins, each one
 *  rolled back and run again. */
const UPSERT_METHOD = {
  sqlite: 'INSERT INTO {mfa_amr_claims} (id, session_id, authentication_method, created_at) VALUES (?, ?, ?, ?) ' +
    'ON CONFLICT (session_id, authentication_method) DO UPDATE SET created_at = excluded.created_at',
  mysql: 'INSERT INTO {mfa_amr_claims} (id, session_id, authentication_method, created_at) VALUES (?, ?, ?, ?) ' +
    'ON DUPLICATE KEY UPDATE created_at = VALUES(created_at)',
} as const
async function recordMethod(db: Db, sessionId: string, method: string, now: Date): Promise<void> {
  await db.run(UPSERT_METHOD[db.dialect], [crypto.randomUUID(), sessionId, method, dbTime(now)])
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

interface MethodRow { authentication_method: string; created_at: string }
/** A session's aal and amr as stored, oldest method first (a session from before methods were recorded: its
 *  password sign-in). */
async function authOf(db: Db, id: string, row: { aal: string; created_at: string }): Promise<SessionAuth> {
  return authFrom(row, await db.all<MethodRow>('SELECT authentication_method, created_at FROM {mfa_amr_claims} WHERE session_id = ? LIMIT 20', [id]))
}
function authFrom(row: { aal: string; created_at: string }, rows: MethodRow[]): SessionAuth {
  // Sorted here: an ORDER BY that the (session_id, authentication_method) index does not cover costs SQLite a
  // temporary sort on every refresh; a session has one row per method, a handful at most.
  if (rows.length > 1) rows.sort((a, b) => cmp(String(a.created_at), String(b.created_at)) || cmp(a.authentication_method, b.authentication_method))
  const seconds = (t: string) => Math.floor((parseTime(t) ?? 0) / 1000)
  const amr = rows.map((r) => ({ method: r.authentication_method, timestamp: seconds(r.created_at) }))
  return { aal: row.aal === 'aal2' ? 'aal2' : 'aal1', amr: amr.length ? amr : [{ method: 'password', timestamp: seconds(row.created_at) }] }
}
/** For a refresh: the session's aal and amr, and the user's factors (none read when `hasFactors` is false: the
 *  caller already knows the user has none). */
export async function sessionAuth(db: Db, config: Config, sessionId: string, now: Date, hasFactors = true): Promise<(SessionAuth & { factors: FactorJson[] }) | undefined> {
  const row = await db.get<{ aal: string; created_at: string; instance_id: string; user_id: string }>(
    'SELECT aal, created_at, instance_id, user_id FROM {sessions} WHERE id = ?', [sessionId])
  if (!row) return undefined
  return { ...(await authOf(db, sessionId, row)), factors: hasFactors ? await factorsOf(db, config, row.instance_id, row.user_id, now) : [] }
}

/** A second factor verified in a live session: the session becomes aal2 with `method` added to its amr (once per
 *  method, with the latest time), its refresh tokens are replaced by a new one, and the answer is the new pair.
 *  Null when the session has ended. */
export async function upgradeSession(db: Db, config: Config, user: UserRow, sessionId: string, method: string, now: Date): Promise<TokenResponse | null> {
  const row = await db.get<{ aal: string; created_at: string }>(
    'SELECT aal, created_at FROM {sessions} WHERE id = ? AND instance_id = ? AND user_id = ? AND revoked_at IS NULL', [sessionId, user.instance_id, user.id])
  if (!row) return null
  const before = await authOf(db, sessionId, row)
  // A session from before methods were recorded keeps its sign-in method in the list.
  for (const e of before.amr) if (e.method !== method) await recordMethod(db, sessionId, e.method, new Date(e.timestamp * 1000))
  await recordMethod(db, sessionId, method, now)
  const amr = [...before.amr.filter((e) => e.method !== method), { method, timestamp: Math.floor(now.getTime() / 1000) }]
  await db.run('UPDATE {sessions} SET aal = ?, refreshed_at = ? WHERE id = ?', ['aal2', dbTime(now), sessionId])
  // The aal1 refresh tokens go: the client holds the pair answered here, and nothing minted before the second
  // factor stays able to continue the session.
  await db.run('DELETE FROM {refresh_tokens} WHERE family_id = ? AND instance_id = ?', [sessionId, user.instance_id])
  const raw = randomToken()
  await insertRefreshToken(db, { instanceId: user.instance_id, userId: user.id, raw, familyId: sessionId, parentId: null, now })
  // Reaching aal2 ends the user's other aal1 sessions, as supabase/auth does on every factor verification: they
  // were opened with one factor (a password, a mail link), and a recovery code in particular is used because a
  // factor was lost, when a session held by whoever has only the password is the one to end. Sessions already at
  // aal2 passed the second factor and stay.
  const ended = await endAal1Sessions(db, user, sessionId, now)
  if (ended) await writeAudit(db, user.instance_id, actorOf(user), 'session_revoked', now, { reason: 'aal2_reached', method, sessions: ended })
  return tokenResponse(config, user, raw, now, sessionId, { aal: 'aal2', amr, factors: await factorsOf(db, config, user.instance_id, user.id, now) })
}

/** Ends every session of the user below aal2 but `keep`: their refresh tokens go (those of a family from before
 *  sessions were recorded too, which has no aal2 row) and their access tokens are refused (lib/revocations.ts).
 *  Returns how many session rows ended. */
async function endAal1Sessions(db: Db, user: UserRow, keep: string, now: Date): Promise<number> {
  const { instance_id: instanceId, id: userId } = user
  const ids = await endingIds(db, "instance_id = ? AND user_id = ? AND id <> ? AND revoked_at IS NULL AND aal <> 'aal2'", [instanceId, userId, keep])
  await db.run(
    "DELETE FROM {refresh_tokens} WHERE instance_id = ? AND user_id = ? AND family_id <> ? AND family_id NOT IN (SELECT id FROM {sessions} WHERE instance_id = ? AND user_id = ? AND aal = 'aal2')",
    [instanceId, userId, keep, instanceId, userId])
  const { changes } = await db.run("UPDATE {sessions} SET revoked_at = ? WHERE instance_id = ? AND user_id = ? AND id <> ? AND revoked_at IS NULL AND aal <> 'aal2'",
    [dbTime(now), instanceId, userId, keep])
  if (changes) revocationsChanged()
  for (const r of ids) db.notices.notify('session_revoked', user, r.id, 'aal2_reached')
  return changes
}

export const SessionBody = t.Object({
  id: t.String({ description: 'the session id, as access tokens carry it in `session_id`' }),
  created_at: t.String(),
  refreshed_at: t.Nullable(t.String()),
  not_after: t.Nullable(t.String({ description: 'end of the session (GOTRUE_SESSIONS_TIMEBOX), or null' })),
  user_agent: t.String({ description: 'browser and system, e.g. "Firefox on Linux" (no versions)' }),
  ip: t.String({ description: 'the network the session started from: an IPv4 /24 or IPv6 /48' }),
  aal: t.UnionEnum(['aal1', 'aal2'], { description: 'the assurance level the session reached: aal2 once a second factor was verified in it' }),
  next_level: t.UnionEnum(['aal1', 'aal2'], { description: 'the level the user can reach: aal2 when the user has a verified MFA factor (a session below it has a second step due), else aal1' }),
  current: t.Boolean({ description: 'the session of the access token making the request' }),
}, { description: 'A session: one refresh-token family' })
export const SessionList = t.Object({ sessions: t.Array(SessionBody) })
type SessionJson = typeof SessionBody.static

interface SessionRow { id: string; created_at: string; refreshed_at: string | null; not_after: string | null; user_agent: string; ip: string; aal: string }
const iso = (v: string | null): string | null => { const ms = parseTime(v); return ms === null ? null : new Date(ms).toISOString() }

/** The user's live sessions, newest first: not revoked, within their timebox, and refreshed (or started) within
 *  the refresh-token lifetime. `current` marks the caller's own. `next_level` is supabase's (auth-js
 *  `getAuthenticatorAssuranceLevel`): aal2 once the user has a verified factor, which MFA off makes unusable. */
export async function listSessions(db: Db, config: Config, instanceId: string, userId: string, now: Date, current: string | null): Promise<SessionJson[]> {
  const rows = await db.all<SessionRow>(
    'SELECT id, created_at, refreshed_at, not_after, user_agent, ip, aal FROM {sessions} WHERE instance_id = ? AND user_id = ? AND revoked_at IS NULL AND (not_after IS NULL OR not_after > ?) ORDER BY created_at DESC, id DESC LIMIT 1000',
    [instanceId, userId, dbTime(now)])
  const idle = config.jwt.refresh_token_lifetime * 1000
  const next = config.mfa.enabled && await hasVerifiedFactor(db, instanceId, userId) ? 'aal2' : 'aal1'
  return rows
    .filter((r) => now.getTime() - (parseTime(r.refreshed_at ?? r.created_at) ?? 0) <= idle)
    .map((r) => {
      const aal = r.aal === 'aal2' ? 'aal2' : 'aal1'
      return { id: r.id, created_at: iso(r.created_at) ?? '', refreshed_at: iso(r.refreshed_at), not_after: iso(r.not_after), user_agent: r.user_agent, ip: r.ip, aal, next_level: aal === 'aal2' ? aal : next, current: r.id === current }
    })
}

/** The refresh grant's first statement: its token, locked, with everything the grant decides on: the token's user
 *  with the factor flag, and the session's aal, methods and whether it was revoked. One locking read (the token
 *  joined to its user, its session and the session's methods, a row per method), by the token's hash: on MySQL
 *  each statement costs MariaDB a parse and a dispatch, and the grant is bound by the database's core (against the
 *  token's FOR UPDATE and a plain read of the same join in one command: 2,557 → 2,779 grants/s, p99 30.7 → 24.3 ms
 *  in interleaved pairs on MariaDB, docs/scaling.md).
 *  The price: InnoDB locks every row a locking read joins (not those of the factor flag's subquery), so the user's
 *  row is held exclusively from the grant's first statement to its COMMIT, where the successor's foreign key check
 *  took only a shared lock at the end. One user's grants of different sessions then run one at a time (a replay in
 *  the grace window therefore reads the live descendant it answers without a lock, features/token.ts: locking it
 *  deadlocked with that descendant's own refresh, which holds it and waits for the user's row); and on a server the adapter runs REPEATABLE READ (statement-based
 *  binary logging) the methods' index gap is locked too, holding up sign-ins whose session lands next to it for the
 *  length of a grant. A password change, which locks the user's row before the tokens, deadlocks with a grant less
 *  often than before: the token's lock and the user's are taken in one statement.
 *  Being a locking read it sees the latest committed rows, so nothing it reads can have changed before the grant
 *  commits: the session's aal changes only with its family's tokens deleted (upgradeSession); and every statement
 *  that ends a session writes its family's refresh tokens in the same transaction (endSession, endOtherSessions,
 *  endAal1Sessions, a reuse's revokeFamily, a user's deletion through the foreign key), so none commits between this
 *  read and the grant's COMMIT: it waits for the token's row lock (or, on Galera, one of the two fails
 *  certification on that row). A token of another instance is not found. Under REPEATABLE READ (where the
 *  adapter runs the grant so) this must stay the transaction's first statement: its snapshot, which later plain
 *  reads such as the grace window's look-up of a descendant use, then starts after these locks. */
export interface RefreshToken { id: string; family_id: string; revoked: number; revoked_at: string | null; created_at: string; updated_at: string }
/** `started`: the session's created_at, null when the family has no session row (sessionExpiry then reads its start). */
export interface RefreshView { token: RefreshToken; user: UserRow; hasFactors: boolean; auth: (SessionAuth & { revoked: boolean }) | null; started: string | null }
const userColumns = USER_COLUMNS.split(', ').map((c) => `u.${c}`).join(', ')
const LOCK_REFRESH_TOKEN = 'SELECT t.id AS t_id, t.family_id AS t_family_id, t.revoked AS t_revoked, t.revoked_at AS t_revoked_at, ' +
  `t.created_at AS t_created_at, t.updated_at AS t_updated_at, ${userColumns}, ${factorFlag('u')}, ` +
  's.aal AS s_aal, s.created_at AS s_created_at, s.revoked_at AS s_revoked_at, a.authentication_method AS a_method, a.created_at AS a_created_at ' +
  'FROM {refresh_tokens} t JOIN {users} u ON u.id = t.user_id AND u.instance_id = ? ' +
  'LEFT JOIN {sessions} s ON s.id = t.family_id AND s.user_id = u.id LEFT JOIN {mfa_amr_claims} a ON a.session_id = s.id ' +
  'WHERE t.token_hash = ? AND t.instance_id = ? LIMIT 20 FOR UPDATE'
interface RefreshViewRow extends UserRow {
  t_id: string; t_family_id: string; t_revoked: number; t_revoked_at: string | null; t_created_at: string; t_updated_at: string
  has_factors: number | string; s_aal: string | null; s_created_at: string | null; s_revoked_at: string | null; a_method: string | null; a_created_at: string | null
}
export async function lockRefreshToken(db: Db, instanceId: string, tokenHash: string): Promise<RefreshView | null> {
  const rows = await db.all<RefreshViewRow>(LOCK_REFRESH_TOKEN, [instanceId, tokenHash, instanceId])
  const first = rows[0]
  if (!first) return null
  const { t_id, t_family_id, t_revoked, t_revoked_at, t_created_at, t_updated_at, has_factors, s_aal, s_created_at, s_revoked_at, a_method, a_created_at, ...user } = first
  const methods = rows.flatMap((r) => (r.a_method === null ? [] : [{ authentication_method: r.a_method, created_at: String(r.a_created_at) }]))
  return {
    token: { id: t_id, family_id: t_family_id, revoked: Number(t_revoked), revoked_at: t_revoked_at, created_at: t_created_at, updated_at: t_updated_at },
    user, hasFactors: Number(has_factors) > 0,
    auth: s_aal === null ? null : { ...authFrom({ aal: s_aal, created_at: String(s_created_at) }, methods), revoked: s_revoked_at !== null },
    started: s_aal === null ? null : String(s_created_at),
  }
}

/** A refresh records its time on the session, spends the token it was given (`spent`, with rotation; without, the
 *  token stays live) and answers the session's aal and amr (the refresh keeps them; `known`: as lockRefreshToken
 *  read them, revoked or not). The writes are queued with the grant's others (nothing reads their outcome); on
 *  MySQL the spend and the session's time are one multi-table UPDATE (a statement fewer for the database). Null
 *  when the session was revoked; a family from before sessions were recorded gets its row now. */
export async function touchSession(db: Db, config: Config, instanceId: string, userId: string, sessionId: string, now: Date, hasFactors: boolean, known: RefreshView['auth'], spent: string | null): Promise<(SessionAuth & { factors: FactorJson[] }) | null> {
  const at = dbTime(now)
  if (known) {
    if (known.revoked) return null
    if (spent && db.dialect === 'mysql') {
      await db.later('UPDATE {refresh_tokens} t, {sessions} s SET t.revoked = 1, t.revoked_at = ?, t.updated_at = ?, s.refreshed_at = ? WHERE t.id = ? AND s.id = ?', [at, at, at, spent, sessionId])
    } else {
      if (spent) await spendRefreshToken(db, spent, now)
      await db.later('UPDATE {sessions} SET refreshed_at = ? WHERE id = ?', [at, sessionId])
    }
    const { revoked: _, ...auth } = known
    return { ...auth, factors: hasFactors ? await factorsOf(db, config, instanceId, userId, now) : [] }
  }
  const { changes } = await db.run('UPDATE {sessions} SET refreshed_at = ? WHERE id = ? AND revoked_at IS NULL', [at, sessionId])
  if (changes) {
    if (spent) await spendRefreshToken(db, spent, now)
    return (await sessionAuth(db, config, sessionId, now, hasFactors)) ?? null
  }
  if (await db.get('SELECT id FROM {sessions} WHERE id = ?', [sessionId])) return null
  // A family from before sessions were recorded: the session started with its first refresh token, not now (its
  // age decides whether a password change needs a reauthentication nonce, features/user.ts).
  const first = await db.get<{ started: string | null }>('SELECT MIN(created_at) AS started FROM {refresh_tokens} WHERE family_id = ? AND instance_id = ?', [sessionId, instanceId])
  const started = parseTime(first?.started ?? null)
  await insertSession(db, { id: sessionId, instanceId, userId, now: started === null ? now : new Date(Math.min(started, now.getTime())), notAfter: null, userAgent: '', ip: '' })
  if (spent) await spendRefreshToken(db, spent, now)
  return (await sessionAuth(db, config, sessionId, now, hasFactors)) ?? null
}
/** Queued (Db.later): the grant holds the row's lock since its locking read, so the UPDATE cannot miss. */
async function spendRefreshToken(db: Db, id: string, now: Date): Promise<void> {
  await db.later('UPDATE {refresh_tokens} SET revoked = 1, revoked_at = ?, updated_at = ? WHERE id = ?', [dbTime(now), dbTime(now), id])
}

/** The session an access token was issued for, when it names one (tokens from before `session_id` do not). */
export const sessionOf = (claims: { session_id?: unknown }): string | null =>
  typeof claims.session_id === 'string' && claims.session_id ? claims.session_id : null

/** Why a session may not be refreshed any more (supabase/auth's wording), or null. `lastUsed` is the time its
 *  current refresh token was issued or last used. The family's start is read only when a timebox is set. */
export async function sessionExpiry(db: Db, config: Config, familyId: string, lastUsed: string, now: Date, started: string | null = null): Promise<string | null> {
  const { timebox, inactivity_timeout: idle } = config.sessions
  if (timebox > 0) {
    // The session's own start (`started` when the caller read it already): its family's oldest refresh token is
    // not it once an MFA step-up replaced the family's tokens (that restarted the timebox). A family from before
    // sessions were recorded: its first token.
    const first = started !== null ? { t: started } : await db.get<{ t: string | null }>(
      'SELECT COALESCE((SELECT created_at FROM {sessions} WHERE id = ?), (SELECT MIN(created_at) FROM {refresh_tokens} WHERE family_id = ?)) AS t', [familyId, familyId])
    if (now.getTime() - (parseTime(first?.t ?? null) ?? 0) > timebox * 1000) return 'Invalid Refresh Token: Session Expired'
  }
  if (idle > 0 && now.getTime() - (parseTime(lastUsed) ?? 0) > idle * 1000) return 'Invalid Refresh Token: Session Expired (Inactivity)'
  return null
}

