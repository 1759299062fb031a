// Everything a feature needs, built once at start-up and handed to each feature factory by closure.
import type { Config } from './config.ts'
import { PasswordHasher } from './crypto.ts'
import { type DataValidator, userDataValidator } from './dataschema.ts'
import type { Db } from './db/index.ts'
import type { Logger } from './log.ts'
import { type Mailer, makeMailer } from './mailer.ts'
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
  /** GOTRUE_USER_DATA_SCHEMA check of user_metadata: the 422 message, or undefined when valid (null: no schema). */
  validateUserData: DataValidator | null
  hasher: PasswordHasher
  /** Single-instance mode: every row belongs to the nil instance. */
  instanceId: string
}

export function makeDeps(config: Config, db: Db, log: Logger, opts: { clock?: Clock; version: string }): Deps {
  return {
    config, db, log, clock: opts.clock ?? systemClock, version: opts.version,
    mailer: makeMailer(config, log),
    webhooks: makeWebhooks(config, log),
    validateUserData: userDataValidator(config.user_data_schema),
    hasher: new PasswordHasher(config.bcrypt_cost),
    instanceId: NIL_UUID,
  }
}
