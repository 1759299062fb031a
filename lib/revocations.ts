// Ended sessions, as every node sees them: an access token names its session (`session_id`), and a session that
// was revoked (logout, DELETE /user/sessions/{id}, an admin, a password change, refresh-token reuse) must stop its
// access tokens before their `exp`. Asking the database on every request would cost GET /user a query; instead
// each process keeps the set of sessions revoked within the last token lifetime and reads what changed at most
// every FRESH_MS, on demand (an idle node reads nothing). A revocation on any node is therefore refused everywhere
// within FRESH_MS plus one query; a revocation made by this process is read at its next request.
import type { Config } from './config.ts'
import { type Db, dbTime, parseTime } from './db/index.ts'
import { unauthorized } from './errors.ts'
import { clearedCookie } from './access-cookie.ts'

/** How old the local set may be when a request is checked against it. */
const FRESH_MS = 500
/** Each read starts this far behind the previous one: a revocation committed late (its revoked_at is the time it
 *  was written, not when it became visible) or written by a node whose clock lags is still picked up. */
const SLACK_MS = 30_000
const PRUNE_MS = 60_000

let generation = 0
/** This process wrote a revocation: every watch reads again before its next answer. Called inside the writing
 *  transaction (on SQLite the read then waits for the commit) and again after the commit by the routes that
 *  revoke, so a MySQL read that ran before the commit is repeated. */
export const revocationsChanged = (): void => { generation++ }

export class RevocationWatch {
  private readonly revoked = new Map<string, number>() // session id → revoked_at (ms)
  private readAt = Number.NEGATIVE_INFINITY // performance.now() when the last read started
  private readGeneration = -1
  private since: number | null = null // revoked_at (clock ms) the next read starts from
  private prunedAt = 0
  private pending: Promise<void> | null = null

  constructor(private readonly db: Db, private readonly instanceId: string, private readonly lifetimeMs: () => number, private readonly now: () => Date) {}

  /** Whether the session has been revoked (as of at most FRESH_MS ago). */
  async isRevoked(sessionId: string): Promise<boolean> {
    if (this.readGeneration !== generation || performance.now() - this.readAt >= FRESH_MS) {
      await (this.pending ??= this.read().finally(() => { this.pending = null }))
    }
    return this.revoked.has(sessionId)
  }

  private async read(): Promise<void> {
    const started = performance.now()
    const seen = generation
    const now = this.now().getTime()
    const horizon = now - this.lifetimeMs() - SLACK_MS // a session revoked before this has no live access token left
    const from = Math.max(this.since ?? horizon, horizon)
    const rows = await this.db.all<{ id: string; revoked_at: string }>(
      'SELECT id, revoked_at FROM {sessions} WHERE instance_id = ? AND revoked_at >= ?', [this.instanceId, dbTime(new Date(from))])
    for (const r of rows) this.revoked.set(r.id, parseTime(r.revoked_at) ?? now)
    if (now - this.prunedAt > PRUNE_MS) {
      for (const [id, at] of this.revoked) if (at < horizon) this.revoked.delete(id)
      this.prunedAt = now
    }
    this.since = now - SLACK_MS
    this.readAt = started
    this.readGeneration = seen
  }
}

const watches = new WeakMap<Db, Map<string, RevocationWatch>>()
/** The process's watch over one database and instance (features each build their guards; they share it). */
export function revocationWatch(db: Db, instanceId: string, lifetimeMs: () => number, now: () => Date): RevocationWatch {
  let byInstance = watches.get(db)
  if (!byInstance) watches.set(db, (byInstance = new Map()))
  let watch = byInstance.get(instanceId)
  if (!watch) byInstance.set(instanceId, (watch = new RevocationWatch(db, instanceId, lifetimeMs, now)))
  return watch
}

/** Whether a session may still write on its user's behalf, read under the session row's lock: its token was
 *  checked before the request's slow steps (bcrypt, a hook), and a proof of the address, a recovery or a logout may
 *  have ended it since; a write that lands after what ended it would outlive it (a password set after the owner
 *  recovered the account). Null (a token that names no session): nothing to check. A session never recorded (a
 *  family from before sessions were) counts as live, as the token guard takes it. */
export async function sessionStillLive(db: Db, sessionId: string | null): Promise<boolean> {
  if (!sessionId) return true
  const row = await db.get<{ revoked_at: string | null }>('SELECT revoked_at FROM {sessions} WHERE id = ? FOR UPDATE', [sessionId])
  return !row || row.revoked_at === null
}
/** The refusal of a token whose session has ended, wherever it is found out: a 401 that also clears the
 *  access-token cookie, so that a browser in cookie mode stops sending a token that can never pass again. */
export const sessionEnded = (config: Config) => unauthorized('Invalid token: session has ended', { 'set-cookie': clearedCookie(config) })
/** sessionStillLive, or the 401 of sessionEnded. */
export async function requireLiveSession(db: Db, config: Config, sessionId: string | null): Promise<void> {
  if (!(await sessionStillLive(db, sessionId))) throw sessionEnded(config)
}
