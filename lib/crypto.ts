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

export class PasswordHasher {
  private running = 0
  private readonly waiting: (() => void)[] = []
  private dummy: Promise<string>

  constructor(readonly cost: number, readonly concurrency = navigator.hardwareConcurrency || 2, readonly maxQueue = 512) {
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

  /** False for an empty stored hash (no password set) after spending the same time as a real check. */
  verify(password: string, hash: string): Promise<boolean> {
    return this.slot(async () => {
      if (!hash || !hash.startsWith('$2')) {
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
