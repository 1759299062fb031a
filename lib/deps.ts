// Everything a feature needs, built once at start-up and handed to each feature factory by closure. The
// telemetry wrapped around the database, mail and webhooks is lib/instrument.ts.
import type { Config } from './config.ts'
import { PasswordHasher } from './crypto.ts'
import { type DataValidator, userDataValidator } from './dataschema.ts'
import type { Db } from './db/index.ts'
import { coalesced } from './db/coalesce.ts'
import { observedDb, tracedMailer, tracedWebhooks } from './instrument.ts'
import { type Limiter, makeLimiter } from './limiter.ts'
import { RULES } from './limits.ts'
import type { Logger } from './log.ts'
import { countedMailer, countedWebhooks, Metrics } from './metrics.ts'
import { limitedMailer, type Mailer, makeMailer } from './mailer.ts'
import { withNotices } from './notices.ts'
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
  const metrics = new Metrics()
  const limiter = makeLimiter(config, log, () => metrics.limitStoreError())
  const hasher = new PasswordHasher(config.bcrypt_cost, {
    maxCost: config.bcrypt_max_cost,
    // the cost only, never the hash: a planted high-cost hash is refused instead of holding a worker for hours
    onRefused: (cost) => log.warn('stored password hash refused: bcrypt cost above GOTRUE_BCRYPT_MAX_COST', { cost }),
  })
  const tracer = makeTracer(config, log)
  const observed = observedDb(db, tracer, metrics)
  const webhooks = countedWebhooks(tracedWebhooks(makeWebhooks(config, log), tracer), metrics)
  metrics.gauge('gotrue_password_hash_queue', 'Password hashes waiting for a worker.', () => hasher.queued)
  metrics.counter('gotrue_db_coalesced_reads_total', 'Point reads (GET /user on MySQL) that may share a statement.', () => coalesced.reads)
  metrics.counter('gotrue_db_coalesced_statements_total', 'Statements those reads took (reads ÷ statements: the mean batch).', () => coalesced.statements)
  return {
    // `db` is absent only where an app is built for its OpenAPI document
    config, db: observed && withNotices(observed, webhooks, log, NIL_UUID, config.webhook.max_in_flight), log, clock, version: opts.version, metrics, tracer,
    mailer: limitedMailer(countedMailer(tracedMailer(makeMailer(config, log), tracer), metrics), limiter, RULES(config).email, () => clock.now()),
    webhooks,
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
  const webhooks = countedWebhooks(tracedWebhooks(makeWebhooks(config, base.log), base.tracer), base.metrics)
  return {
    ...base, config, instanceId, limiter, webhooks,
    // the site's notices go to the site's webhook (base.db's go to the process's, which these handles replace)
    db: base.db && withNotices(base.db, webhooks, base.log, instanceId, base.config.webhook.max_in_flight),
    mailer: limitedMailer(countedMailer(tracedMailer(makeMailer(config, base.log), base.tracer), base.metrics), limiter, RULES(config).email, () => base.clock.now()),
    validateUserData: userDataValidator(config.user_data_schema),
  }
}
