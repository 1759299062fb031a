// Telemetry around the process's outside calls, added where the dependencies are built so that no feature and
// no adapter knows of it: the database (statements in flight, and a child span per statement and transaction),
// outgoing mail and webhooks (a span each). With tracing off only the in-flight count remains.
import type { Db } from './db/index.ts'
import { wrapDb } from './db/instrument.ts'
import type { Mailer } from './mailer.ts'
import type { Metrics } from './metrics.ts'
import type { Tracer } from './tracing.ts'
import type { Webhooks } from './webhooks.ts'

/** The database as the features see it: counted in `gotrue_db_operations_in_flight` and, with tracing on, one
 *  child span of the request per statement and transaction. The span's resource is the SQL text as written
 *  (`{table}` names, `?` placeholders), never a parameter value. */
export function observedDb(db: Db, tracer: Tracer, metrics: Metrics): Db {
  let inFlight = 0
  // not an async function: one promise hop less on every statement of every request
  const done = <T>(v: T): T => { inFlight--; return v }
  const failed = (e: unknown): never => { inFlight--; throw e }
  const counted = <T>(run: () => Promise<T>): Promise<T> => {
    inFlight++
    try { return run().then(done, failed) } catch (e) { return failed(e) }
  }
  metrics.gauge('gotrue_db_operations_in_flight', 'Database statements and transactions in flight.', () => inFlight)
  // `db` is absent only where an app is built for its OpenAPI document, which runs no statement
  return db && wrapDb(db, tracer.enabled
    ? (kind, sql, run) => tracer.trace(kind === 'tx' ? 'db.transaction' : 'db.query', { 'db.system': db.dialect },
        { resource: sql, type: 'sql', kind: 'client' }, () => counted(run))
    : (_kind, _sql, run) => counted(run))
}

/** smtp.send spans: tagged with the mail kind, never the recipient. */
export function tracedMailer(mailer: Mailer, tracer: Tracer): Mailer {
  if (!tracer.enabled) return mailer
  const opts = { resource: 'smtp.send', type: 'custom', kind: 'client' } as const
  return { ...mailer, send: (kind, to, vars) => tracer.trace('smtp.send', { 'mail.kind': kind }, opts, () => mailer.send(kind, to, vars)) }
}

/** webhook.send spans for events actually sent, tagged with the event (not the URL: it may hold credentials). */
export function tracedWebhooks(webhooks: Webhooks, tracer: Tracer): Webhooks {
  if (!tracer.enabled) return webhooks
  return {
    ...webhooks,
    send: (event, instanceId, user, extra) => !webhooks.wants(event)
      ? webhooks.send(event, instanceId, user, extra)
      : tracer.trace('webhook.send', { 'webhook.event': event }, { resource: `webhook ${event}`, type: 'http', kind: 'client' },
          () => webhooks.send(event, instanceId, user, extra)),
  }
}
