// Rate limits: which requests count against which budget ("rules": per client, per account, per email, mails
// sent), and the steps that check them: enforce (count and refuse), reserve (all-or-none slots that can be given
// back) and reserveLogin (failed logins). The counters themselves are lib/limiter.ts.
import type { Config } from './config.ts'
import { tooManyRequests } from './errors.ts'
import type { Limiter } from './limiter.ts'

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
async function reserve(limiter: Limiter, slots: [Rule, string][], nowMs: number): Promise<(nowMs: number) => Promise<void>> {
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

export const RULES = (c: Config) => ({
  token: { name: 'token', limit: c.rate_limit.token_refresh, windowSec: 300 },
  // Failed logins per account and client, and per account from all clients (distributed guessing).
  login: { name: 'login', limit: c.rate_limit.login, windowSec: 300 },
  loginAccount: { name: 'login-account', limit: c.rate_limit.login_account, windowSec: 300 },
  verify: { name: 'verify', limit: c.rate_limit.verify, windowSec: 300 },
  otp: { name: 'otp', limit: c.rate_limit.otp, windowSec: 3600 },
  email: { name: 'email', limit: c.rate_limit.email_sent, windowSec: 3600 },
}) satisfies Record<string, Rule>
