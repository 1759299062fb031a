// Everything a feature needs, built once at start-up and handed to each feature factory by closure.
import type { Config } from './config.ts'
import type { Db } from './db/index.ts'
import type { Logger } from './log.ts'

export interface Clock { now(): Date }
export const systemClock: Clock = { now: () => new Date() }

export interface Deps {
  config: Config
  db: Db
  log: Logger
  clock: Clock
  version: string
}
