// Secrets and passwords. One-time and refresh tokens are 256-bit random URL-safe strings; only their SHA-256
// is stored. Passwords are bcrypt (Bun.password, so hashes exported from GoTrue's MySQL keep working), hashed
// on Bun's worker threads behind a bounded queue, so a login flood gets 503s instead of starving other routes.
import { timingSafeEqual } from 'node:crypto'
import { unavailable } from './errors.ts'

const B64URL = (b: Uint8Array) => Buffer.from(b).toString('base64url')

/** 32 random bytes, base64url without padding (43 chars, safe unencoded in URLs and form bodies). */
export const randomToken = (bytes = 32): string => B64URL(crypto.getRandomValues(new Uint8Array(bytes)))

/** Hex SHA-256: how every token is stored and looked up. */
export const sha256 = (s: string): string => new Bun.CryptoHasher('sha256').update(s).digest('hex')

/** HMAC-SHA256 as base64url. */
export const hmac = (key: string, data: string): string => new Bun.CryptoHasher('sha256', key).update(data).digest('base64url')

/** Constant-time string equality (length is not secret: compare digests when it may be). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(sha256(a), 'hex'), y = Buffer.from(sha256(b), 'hex')
  return timingSafeEqual(x, y) && a.length === b.length
}

/** Highest bcrypt cost accepted when GOTRUE_BCRYPT_MAX_COST is not passed in (each step doubles the work). */
export const BCRYPT_MAX_COST = 14
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/

/** The cost of a well-formed bcrypt hash ($2a$, $2b$, $2y$), or null for anything else. */
export const bcryptCost = (hash: string): number | null => {
  const m = BCRYPT.exec(hash)
  return m ? Number(m[1]) : null
}

/** Why a supplied bcrypt hash is refused, or null. Every path that stores a hash it did not make checks this: a
 *  planted cost of 31 would hold a hashing worker for hours on each login attempt against that account. */
export function bcryptProblem(hash: string, bounds: { bcrypt_cost: number; bcrypt_max_cost: number }): string | null {
  const maxCost = Math.max(bounds.bcrypt_max_cost, bounds.bcrypt_cost) // as PasswordHasher: never below our own cost
  const cost = bcryptCost(hash)
  if (cost === null) return 'must be a bcrypt hash ($2a$, $2b$ or $2y$)'
  if (cost < 4 || cost > maxCost) return `bcrypt cost ${cost} is out of bounds (4 to ${maxCost})`
  return null
}

export interface HasherOptions {
  concurrency?: number
  maxQueue?: number
  /** Stored hashes above this cost are never verified (GOTRUE_BCRYPT_MAX_COST). */
  maxCost?: number
  /** Told (without the hash) when a stored hash is refused for its cost. */
  onRefused?: (cost: number) => void
}

export class PasswordHasher {
  private running = 0
  private readonly waiting: (() => void)[] = []
  private dummy: Promise<string>
  readonly concurrency: number
  readonly maxQueue: number
  readonly maxCost: number

  constructor(readonly cost: number, private readonly opts: HasherOptions = {}) {
    this.concurrency = opts.concurrency ?? (navigator.hardwareConcurrency || 2)
    this.maxQueue = opts.maxQueue ?? 512
    // never below the cost this server hashes with, or its own new hashes would stop verifying
    this.maxCost = Math.max(opts.maxCost ?? BCRYPT_MAX_COST, cost)
    this.dummy = Bun.password.hash(randomToken(), { algorithm: 'bcrypt', cost })
  }

  get queued(): number { return this.waiting.length }

  private async slot<T>(f: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.maxQueue) throw unavailable('Server is busy, try again later')
      await new Promise<void>((r) => this.waiting.push(r))
    } else this.running++
    try { return await f() } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
  }

  hash(password: string): Promise<string> {
    return this.slot(() => Bun.password.hash(password, { algorithm: 'bcrypt', cost: this.cost }))
  }

  /** False for an empty stored hash (no password set), a malformed one, or one whose cost is above the bound
   *  (stored before the bound existed: verifying it would hold a worker for as long as its cost says), after
   *  spending the same time as a real check. */
  verify(password: string, hash: string): Promise<boolean> {
    return this.slot(async () => {
      const cost = hash ? bcryptCost(hash) : null
      if (cost === null || cost > this.maxCost) {
        if (cost !== null) this.opts.onRefused?.(cost)
        await Bun.password.verify(password, await this.dummy, 'bcrypt')
        return false
      }
      try { return await Bun.password.verify(password, hash, 'bcrypt') } catch { return false }
    })
  }

  /** A full bcrypt comparison whose result is thrown away: equal timing for unknown users. */
  async burn(password: string): Promise<void> {
    await this.verify(password, '')
  }
}
