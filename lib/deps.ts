// Everything a feature needs, built once at start-up and handed to each feature factory by closure.
import type { Config } from './config.ts'
import { PasswordHasher } from './crypto.ts'
import { type DataValidator, userDataValidator } from './dataschema.ts'
import type { Db } from './db/index.ts'
import { wrapDb } from './db/instrument.ts'
import { type Limiter, limitedMailer, makeLimiter, RULES } from './limits.ts'
import type { Logger } from './log.ts'
import { Metrics } from './metrics.ts'
import { type Mailer, makeMailer } from './mailer.ts'
import { makeTracer, type Tracer } from './tracing.ts'
import { NIL_UUID } from './users.ts'
import { makeWebhooks, type Webhooks } from './webhooks.ts'

export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() }

export interface Deps {
  config: Config
  db: Db
  log: Logger
  clock: Clock
  version: string
  mailer: Mailer
  webhooks: Webhooks
  limiter: Limiter
  metrics: Metrics
  /** GOTRUE_TRACING_*: request spans with children for SQL, mail and webhooks (a no-op when disabled). */
  tracer: Tracer
  /** GOTRUE_USER_DATA_SCHEMA check of user_metadata: the 422 message, or undefined when valid (null: no schema). */
  validateUserData: DataValidator | null
  hasher: PasswordHasher
  /** Single-instance mode: every row belongs to the nil instance. */
  instanceId: string
}

export function makeDeps(config: Config, db: Db, log: Logger, opts: { clock?: Clock; version: string }): Deps {
  const clock = opts.clock ?? systemClock
  const limiter = makeLimiter(config, log)
  const metrics = new Metrics()
  const hasher = new PasswordHasher(config.bcrypt_cost, {
    maxCost: config.bcrypt_max_cost,
    // the cost only, never the hash: a planted high-cost hash is refused instead of holding a worker for hours
    onRefused: (cost) => log.warn('stored password hash refused: bcrypt cost above GOTRUE_BCRYPT_MAX_COST', { cost }),
  })
  const tracer = makeTracer(config, log)
  let inFlight = 0
  // not an async function: one promise hop less on every statement of every request
  const done = <T>(v: T): T => { inFlight--; return v }
  const failed = (e: unknown): never => { inFlight--; throw e }
  const counted = <T>(run: () => Promise<T>): Promise<T> => {
    inFlight++
    try { return run().then(done, failed) } catch (e) { return failed(e) }
  }
  // With tracing on, every statement and transaction is also a child span of the request: the resource is the
  // SQL text as written (`{table}` names, `?` placeholders), never a parameter value.
  const observed = db && wrapDb(db, tracer.enabled
    ? (kind, sql, run) => tracer.trace(kind === 'tx' ? 'db.transaction' : 'db.query', { 'db.system': db.dialect },
        { resource: sql, type: 'sql', kind: 'client' }, () => counted(run))
    : (_kind, _sql, run) => counted(run))
  metrics.gauge('gotrue_db_operations_in_flight', 'Database statements and transactions in flight.', () => inFlight)
  metrics.gauge('gotrue_password_hash_queue', 'Password hashes waiting for a worker.', () => hasher.queued)
  return {
    config, db: observed, log, clock, version: opts.version, metrics, tracer,
    mailer: limitedMailer(tracedMailer(makeMailer(config, log), tracer), limiter, RULES(config).email, () => clock.now()),
    webhooks: tracedWebhooks(makeWebhooks(config, log), tracer),
    limiter,
    validateUserData: userDataValidator(config.user_data_schema),
    hasher,
    instanceId: NIL_UUID,
  }
}

/** The dependencies of one instance in multi-instance mode: its own configuration, mail, webhooks and schema,
 *  its rate-limit keys apart from other instances', and the process's database, hashing pool and telemetry. */
export function instanceDeps(base: Deps, instanceId: string, config: Config): Deps {
  const limiter: Limiter = { hit: (key, ...rest) => base.limiter.hit(`${instanceId}:${key}`, ...rest), close() {} }
  return {
    ...base, config, instanceId, limiter,
    mailer: limitedMailer(tracedMailer(makeMailer(config, base.log), base.tracer), limiter, RULES(config).email, () => base.clock.now()),
    webhooks: tracedWebhooks(makeWebhooks(config, base.log), base.tracer),
    validateUserData: userDataValidator(config.user_data_schema),
  }
}

/** smtp.send spans: tagged with the mail kind, never the recipient. */
function tracedMailer(mailer: Mailer, tracer: Tracer): Mailer {
  if (!tracer.enabled) return mailer
  const opts = { resource: 'smtp.send', type: 'custom', kind: 'client' } as const
  return { ...mailer, send: (kind, to, vars) => tracer.trace('smtp.send', { 'mail.kind': kind }, opts, () => mailer.send(kind, to, vars)) }
}

/** webhook.send spans for events actually sent, tagged with the event (not the URL: it may hold credentials). */
function tracedWebhooks(webhooks: Webhooks, tracer: Tracer): Webhooks {
  if (!tracer.enabled) return webhooks
  return {
    ...webhooks,
    send: (event, instanceId, user) => !webhooks.wants(event)
      ? webhooks.send(event, instanceId, user)
      : tracer.trace('webhook.send', { 'webhook.event': event }, { resource: `webhook ${event}`, type: 'http', kind: 'client' },
          () => webhooks.send(event, instanceId, user)),
  }
}
