// Counters behind the rate limits: "at most N hits per window" for a key. In memory for one node; shared through
// Redis (Bun's built-in client) when GOTRUE_REDIS_URL is set, so counts add up across nodes. Fixed windows: simple,
// the same on both backends, and Retry-After is the time left in the window. What is counted, and how much is
// allowed, is lib/limits.ts.
import { RedisClient } from 'bun'
import type { Config } from './config.ts'
import type { Logger } from './log.ts'

export interface Limiter {
  /** Counts one hit (or `step` hits; a negative step takes hits back from a live window and never opens one);
   *  resolves with 0 when allowed, else the seconds until the window resets. */
  hit(key: string, limit: number, windowSec: number, nowMs: number, step?: number): Promise<number>
  close(): void
}

class MemoryLimiter implements Limiter {
  private readonly windows = new Map<string, { n: number; resetAt: number }>()
  constructor(private readonly maxKeys = 200_000) {}
  async hit(key: string, limit: number, windowSec: number, nowMs: number, step = 1): Promise<number> {
    let w = this.windows.get(key)
    if (!w || w.resetAt <= nowMs) {
      if (step < 0) return 0
      if (this.windows.size >= this.maxKeys) this.sweep(nowMs)
      w = { n: 0, resetAt: nowMs + windowSec * 1000 }
      this.windows.set(key, w)
    }
    w.n = Math.max(0, w.n + step)
    return w.n <= limit ? 0 : (w.resetAt - nowMs) / 1000
  }
  private sweep(nowMs: number) {
    for (const [k, w] of this.windows) if (w.resetAt <= nowMs) this.windows.delete(k)
    // still full of live windows: drop the oldest half rather than grow without bound
    if (this.windows.size >= this.maxKeys) for (const k of [...this.windows.keys()].slice(0, this.maxKeys / 2)) this.windows.delete(k)
  }
  close() {}
}

// INCRBY, and give the key its window when it has none (new, or left without a TTL by anything else: a key
// without one would never reset). A negative step only touches a live key. Returns the count and the ms left.
const SCRIPT = "local s = tonumber(ARGV[2]) if s < 0 and redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end local n = redis.call('INCRBY', KEYS[1], s) local t = redis.call('PTTL', KEYS[1]) if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end return {n, t}"
/** How long the first requests after boot wait for the first connection before failing open. */
const FIRST_CONNECT_WAIT_MS = 2000

/** Resolves when `p` settles or after `ms`, whichever comes first (and leaves no timer behind). */
const within = (p: Promise<void>, ms: number) => new Promise<void>((resolve) => {
  const timer = setTimeout(resolve, ms)
  void p.finally(() => { clearTimeout(timer); resolve() })
})

class RedisLimiter implements Limiter {
  private readonly redis: RedisClient
  private connecting: Promise<void> | null = null
  private first: Promise<void> | null
  private retryAt = 0
  private closed = false
  constructor(url: string, private readonly log: Logger, private readonly prefix: string, private readonly failedOpen: () => void) {
    // Connecting is ours to drive. With the offline queue off (a command must never wait for an absent Redis),
    // Bun's client rejects the command that would open the connection, and after its own retries it stays
    // "failed" for good — a Redis restart would switch the shared limits off until this node restarted. So:
    // connect now, and when the connection is down, try again in the background at most once a second.
    this.redis = new RedisClient(url, { connectionTimeout: 2000, autoReconnect: false, enableOfflineQueue: false })
    this.first = this.connect().finally(() => { this.first = null })
  }
  private connect(): Promise<void> {
    this.retryAt = Date.now() + 1000
    this.connecting ??= this.redis.connect().then(
      () => this.log.info('rate limiter connected to Redis'),
      (e) => this.log.warn('rate limiter cannot reach Redis, requests are allowed', { error: e instanceof Error ? e.message : String(e) }),
    ).finally(() => { this.connecting = null })
    return this.connecting
  }
  async hit(key: string, limit: number, windowSec: number, _nowMs?: number, step = 1): Promise<number> {
    if (!this.redis.connected && !this.closed) {
      if (this.first) await within(this.first, FIRST_CONNECT_WAIT_MS)
      else if (!this.connecting && Date.now() >= this.retryAt) void this.connect() // this request fails open
    }
    try {
      const [n, pttl] = (await this.redis.send('EVAL', [SCRIPT, '1', this.prefix + key, String(Math.round(windowSec * 1000)), String(step)])) as [number, number]
      return n <= limit ? 0 : Math.max(pttl, 1) / 1000
    } catch (e) {
      // Redis down: fail open (an outage of the limiter must not take logins down), say so, and count it, so an
      // operator alerts on the counter rather than finding out from the log that the limits were off.
      this.failedOpen()
      this.log.warn('rate limiter unavailable, request allowed', { error: e instanceof Error ? e.message : String(e) })
      return 0
    }
  }
  close() {
    this.closed = true
    this.redis.close()
  }
}

/** `failedOpen` is called for every check allowed without counting because Redis failed (the metric). */
export function makeLimiter(config: Config, log: Logger, failedOpen: () => void = () => {}): Limiter {
  // Deployments sharing one Redis keep their counts apart by table namespace.
  return config.redis_url ? new RedisLimiter(config.redis_url, log, `gotrue:rl:${config.db.namespace}:`, failedOpen) : new MemoryLimiter()
}
