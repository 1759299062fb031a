// Mail throttles (SMTP_MAX_FREQUENCY): at most one per window for a key, in memory, bounded in size.
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
