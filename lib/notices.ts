// Notification webhooks for sessions and second factors (session_created, session_refreshed, session_revoked,
// factor_enrolled, factor_verified, factor_deleted, recovery_code_used, challenge_failed). The code that changes a
// session or factor calls `db.notices.notify(...)` on the transaction handle it already holds; the app's handles
// (built here) queue the event with afterCommit, so an event of a transaction that rolled back, or of an attempt
// the database aborted and ran again, is never sent, and a retried transaction sends once. After the commit the
// webhook is sent in the background: the request does not wait for it, a failure is logged, the reply is ignored
// (lib/webhooks.ts). Unsubscribed events cost one Set lookup. The body is GoTrue's {event, instance_id, user}
// plus `session: {id, reason?}` or `factor: {id, factor_type}`: never a token, secret or code.
import type { Db, NoticeEvent, Notices } from './db/index.ts'
import type { Logger } from './log.ts'
import { toUser, type UserRow } from './users.ts'
import type { Webhooks } from './webhooks.ts'

const SESSION_EVENTS = new Set<NoticeEvent>(['session_created', 'session_refreshed', 'session_revoked'])

/** The extra object of an event: what happened to which session or factor. */
function subject(event: NoticeEvent, id: string, detail: string | undefined): Record<string, unknown> {
  if (SESSION_EVENTS.has(event)) return { session: detail ? { id, reason: detail } : { id } }
  return { factor: { id, factor_type: detail ?? 'totp' } }
}

/** `db` whose handles (and those of its transactions) send notification webhooks for `instanceId`. Statements go
 *  straight to the inner handle (no extra hop per statement); only tx() and the notices are wrapped. */
export function withNotices(db: Db, webhooks: Webhooks, log: Logger, instanceId: string, maxInFlight = 100): Db {
  // A receiver that stalls until the timeout would otherwise hold one pending call per event (timeout × retries
  // each) at the rate of refreshes: past the cap an event is dropped, and said so at most once a second.
  let inFlight = 0
  let dropped = 0
  let warnedAt = 0
  const send = (event: NoticeEvent, user: UserRow, id: string, detail: string | undefined) => {
    if (inFlight >= maxInFlight) {
      dropped++
      const now = Date.now()
      if (now - warnedAt >= 1000) {
        log.warn('webhook notifications dropped: too many in flight', { component: 'webhook', event, in_flight: inFlight, dropped })
        warnedAt = now
        dropped = 0
      }
      return
    }
    inFlight++
    webhooks.send(event, instanceId, toUser(user), subject(event, id, detail))
      .catch((e) => log.warn('webhook failed after commit', { component: 'webhook', event, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => { inFlight-- })
  }
  const notices = (inner: Db): Notices => ({
    wants: (event) => webhooks.wants(event),
    notify(event, user, id, detail) {
      if (!webhooks.wants(event)) return
      inner.afterCommit(() => send(event, user as UserRow, id, detail))
    },
  })
  const wrap = (inner: Db): Db => {
    const handle: Db = {
      dialect: inner.dialect,
      all: inner.all,
      get: inner.get,
      run: inner.run,
      later: inner.later,
      soon: inner.soon,
      afterCommit: inner.afterCommit,
      tx: (fn, o) => inner.tx((t) => fn(wrap(t)), o),
      notices: notices(inner),
      close: inner.close,
    }
    return handle
  }
  return wrap(db)
}
