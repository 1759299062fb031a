// In-memory token buckets keyed by a string (one node). GoTrue's /token limiter: burst 30, one token back
// every 10 s, idle keys forgotten after an hour.
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  constructor(readonly burst: number, readonly refillPerSec: number, readonly maxKeys = 100_000) {}

  /** Takes one token; returns 0 when allowed, else the seconds until one is available. */
  take(key: string, nowMs: number): number {
    let b = this.buckets.get(key)
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.sweep(nowMs)
      b = { tokens: this.burst, at: nowMs }
      this.buckets.set(key, b)
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((nowMs - b.at) / 1000) * this.refillPerSec)
      b.at = nowMs
    }
    if (b.tokens >= 1) { b.tokens -= 1; return 0 }
    return (1 - b.tokens) / this.refillPerSec
  }

  private sweep(nowMs: number) {
    for (const [k, b] of this.buckets) if (nowMs - b.at > 3_600_000 || this.buckets.size >= this.maxKeys) this.buckets.delete(k)
  }
}

/** "At most one per `seconds` for a key" (mail throttles): remembers the last time per key, bounded in size. */
export class Throttle {
  private readonly last = new Map<string, number>()
  constructor(readonly maxKeys = 100_000) {}
  /** Returns true when allowed (and records it), false when the key was seen within `seconds`. */
  hit(key: string, seconds: number, nowMs: number): boolean {
    const prev = this.last.get(key)
    if (prev !== undefined && nowMs - prev < seconds * 1000) return false
    this.last.delete(key)
    if (this.last.size >= this.maxKeys) {
      const oldest = this.last.keys().next().value
      if (oldest !== undefined) this.last.delete(oldest)
    }
    this.last.set(key, nowMs)
    return true
  }
  forget(key: string): void { this.last.delete(key) }
}
