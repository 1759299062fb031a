// Rate limits: "at most N per window" counters keyed by client and by account. In memory for one node; shared
// through Redis (Bun's built-in client) when GOTRUE_REDIS_URL is set, so limits add up across nodes. Fixed
// windows: simple, the same on both backends, and Retry-After is the time left in the window.
import { RedisClient } from 'bun'
import type { Config } from './config.ts'
import { tooManyRequests } from './errors.ts'
import type { Logger } from './log.ts'
import { v6groups } from './ssrf.ts'

export interface Limiter {
  /** Counts one hit (or `step` hits; a negative step takes hits back from a live window and never opens one);
   *  resolves with 0 when allowed, else the seconds until the window resets. */
  hit(key: string, limit: number, windowSec: number, nowMs: number, step?: number): Promise<number>
  close(): void
}

export class MemoryLimiter implements Limiter {
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

export class RedisLimiter implements Limiter {
  private readonly redis: RedisClient
  private connecting: Promise<void> | null = null
  private first: Promise<void> | null
  private retryAt = 0
  private closed = false
  constructor(url: string, private readonly log: Logger, private readonly prefix = 'gotrue:rl:') {
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
      // Redis down: fail open (an outage of the limiter must not take logins down) and say so.
      this.log.warn('rate limiter unavailable, request allowed', { error: e instanceof Error ? e.message : String(e) })
      return 0
    }
  }
  close() {
    this.closed = true
    this.redis.close()
  }
}

export function makeLimiter(config: Config, log: Logger): Limiter {
  // Deployments sharing one Redis keep their counts apart by table namespace.
  return config.redis_url ? new RedisLimiter(config.redis_url, log, `gotrue:rl:${config.db.namespace}:`) : new MemoryLimiter()
}

/** One rule: `limit` hits per `windowSec` for each key; 0 disables it. */
export interface Rule { name: string; limit: number; windowSec: number }

/** Throws GoTrue's 429 (with Retry-After) when any key is over its rule. Keys that are empty are skipped. */
export async function enforce(limiter: Limiter, rule: Rule, keys: string[], nowMs: number): Promise<void> {
  if (rule.limit <= 0) return
  for (const k of keys) {
    if (!k) continue
    const wait = await limiter.hit(`${rule.name}:${k}`, rule.limit, rule.windowSec, nowMs)
    if (wait > 0) throw tooManyRequests('Rate limit exceeded', wait)
  }
}

/** Takes one slot of each rule for its key, all or none: over any rule it gives back what it took and throws the
 *  429, so a refused request counts nowhere. Resolves with a function that gives the slots back, for an attempt
 *  that turned out not to count (a login with the right password: only failures are limited). Taking the slot
 *  before the work, rather than counting after it, keeps parallel requests from all passing one check. */
export async function reserve(limiter: Limiter, slots: [Rule, string][], nowMs: number): Promise<(nowMs: number) => Promise<void>> {
  const taken = slots.filter(([rule, key]) => rule.limit > 0 && key)
  const giveBack = async (at: number, n = taken.length) => {
    for (const [rule, key] of taken.slice(0, n)) await limiter.hit(`${rule.name}:${key}`, rule.limit, rule.windowSec, at, -1)
  }
  for (let i = 0; i < taken.length; i++) {
    const [rule, key] = taken[i] as [Rule, string]
    const wait = await limiter.hit(`${rule.name}:${key}`, rule.limit, rule.windowSec, nowMs)
    if (wait > 0) {
      await giveBack(nowMs, i + 1)
      throw tooManyRequests('Rate limit exceeded', wait)
    }
  }
  return (at) => giveBack(at)
}

/** Failed-login slots: per account and client, then the account's ceiling across all clients. Over the ceiling, a
 *  client with no failure of its own on this account in the window may still try: the owner, who has not been
 *  failing, is never locked out by guesses from elsewhere, while a guesser spread over many addresses gets at most
 *  one further guess per fresh address (and an IPv6 address counts by its /64). */
export async function reserveLogin(limiter: Limiter, perClient: Rule, ceiling: Rule, account: string, client: string, nowMs: number): Promise<(nowMs: number) => Promise<void>> {
  const mineKey = `${account}\n${client}`
  const mine = await reserve(limiter, [[perClient, mineKey]], nowMs)
  try {
    const all = await reserve(limiter, [[ceiling, account]], nowMs)
    return async (at) => { await mine(at); await all(at) }
  } catch (e) {
    // the slot just taken is this client's only one in the window: it has not been failing
    const fresh = perClient.limit > 0 && (await limiter.hit(`${perClient.name}:${mineKey}`, 1, perClient.windowSec, nowMs, 0)) === 0
    if (!fresh) {
      await mine(nowMs)
      throw e
    }
    return mine
  }
}

/** The client a request comes from: the configured header (behind a proxy) or the socket address. A request
 *  without that header is keyed by its socket address too: an empty key would be skipped by `enforce`, so
 *  leaving the header out would otherwise lift every per-client limit (the reference shares one "" bucket). */
export function clientOf(config: Config, request: Request, server: { requestIP(r: Request): { address: string } | null } | null): string {
  const h = config.rate_limit_header
  // With a list (X-Forwarded-For) the LAST entry is the one our own proxy appended; earlier ones are the client's say.
  const fromHeader = h ? (request.headers.get(h) ?? '').split(',').pop()?.trim() : ''
  return clientKey(fromHeader || server?.requestIP(request)?.address || dispatched.get(request) || '')
}

/** The key of a client address. One IPv6 host commonly holds a whole /64 (SLAAC privacy addresses, a routed
 *  prefix), so IPv6 clients are keyed by their /64: otherwise one machine could be a new "client" per request.
 *  IPv4-mapped IPv6 is the IPv4 address it carries. Anything that is not an IPv6 address is kept as it is. */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address
  const g = v6groups(address)
  if (!g) return address
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return [(g[6] as number) >> 8, (g[6] as number) & 255, (g[7] as number) >> 8, (g[7] as number) & 255].join('.')
  }
  return `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`
}

/** Multi-instance mode hands each request to an instance's app with app.handle(), where there is no socket:
 *  the dispatcher records the socket address here first. */
const dispatched = new WeakMap<Request, string>()
export const rememberClient = (request: Request, address: string): void => { dispatched.set(request, address) }

export const RULES = (c: Config) => ({
  token: { name: 'token', limit: c.rate_limit.token_refresh, windowSec: 300 },
  // Failed logins per account and client, and per account from all clients (distributed guessing).
  login: { name: 'login', limit: c.rate_limit.login, windowSec: 300 },
  loginAccount: { name: 'login-account', limit: c.rate_limit.login_account, windowSec: 300 },
  verify: { name: 'verify', limit: c.rate_limit.verify, windowSec: 300 },
  otp: { name: 'otp', limit: c.rate_limit.otp, windowSec: 3600 },
  email: { name: 'email', limit: c.rate_limit.email_sent, windowSec: 3600 },
}) satisfies Record<string, Rule>

/** GOTRUE_RATE_LIMIT_EMAIL_SENT: every mail counts against one shared hourly budget; over it, sending fails
 *  with a 429 (features pass an HttpError through instead of reporting a mail failure). */
export function limitedMailer<M extends { send(...a: never[]): Promise<void> }>(mailer: M, limiter: Limiter, rule: Rule, now: () => Date): M {
  if (rule.limit <= 0) return mailer
  const send = mailer.send.bind(mailer) as (...a: unknown[]) => Promise<void>
  return { ...mailer, close: (mailer as unknown as { close?: () => void }).close, send: async (...a: unknown[]) => {
    await enforce(limiter, rule, ['all'], now().getTime())
    return send(...a)
  } } as M
}
