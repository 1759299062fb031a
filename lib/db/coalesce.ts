// Point reads coalesced while the database is busy. On a networked database each statement costs a round trip,
// a packet written, column definitions parsed (mysql2 on Bun spends about half of GET /user's CPU there) and a
// statement executed by the server; the rows themselves are cheap. So a hot lookup by key (a user by id) goes out
// at once while fewer than `maxInFlight` of its statements are running, and otherwise waits for one to finish and
// then leaves with every key that queued meanwhile, as one `IN (…)` statement. An idle server answers as before;
// a loaded one sends a fraction of the statements.
//
// Freshness is unchanged: a waiting read is sent after it was asked for, never attached to a statement already on
// the wire, so it sees every write committed before the request arrived (read-your-writes across requests holds).
// Only for autocommit reads through the pool, never inside a transaction (its reads must see its own writes).
// A shared statement runs in the async context of its oldest read, so with tracing on its span is a child of that
// request; the others of the batch show the wait in their own request span only.
import { AsyncLocalStorage } from 'node:async_hooks'

export interface CoalescerOptions {
  /** Statements of this reader running at once; more requests than that wait and share the next statement. */
  maxInFlight: number
  /** Keys per statement. */
  maxBatch: number
  /** A statement running longer than this gives its slot up (it still answers its own reads when it ends): a hung
   *  connection must not hold every later read back while the pool's other connections are free. */
  stuckMs: number
}

/** Process-wide totals for /metrics: reads ÷ statements is the mean batch. */
export const coalesced = { reads: 0, statements: 0 }

interface Waiter<R> { resolve(row: R | null): void; reject(e: unknown): void }
/** The reads of one key, and the async context of the first (about 20 ns to capture). */
interface Entry<R> { waiters: Waiter<R>[]; context: <T>(fn: () => T) => T }

export class Coalescer<R> {
  private readonly waiting = new Map<string, Entry<R>>()
  /** When each statement in flight was sent (performance.now()), in sending order. */
  private readonly running = new Set<{ at: number }>()
  private timer: ReturnType<typeof setTimeout> | null = null

  /** `fetch` reads the rows of the given distinct keys (at most maxBatch) and returns them by key; a key it leaves
   *  out has no row. */
  constructor(private readonly fetch: (keys: string[]) => Promise<Map<string, R>>, private readonly options: CoalescerOptions) {}

  get(key: string): Promise<R | null> {
    coalesced.reads++
    return new Promise<R | null>((resolve, reject) => {
      const entry = this.waiting.get(key)
      if (entry) entry.waiters.push({ resolve, reject })
      else this.waiting.set(key, { waiters: [{ resolve, reject }], context: AsyncLocalStorage.snapshot() })
      this.drain()
    })
  }

  /** Statements in flight that still hold a slot (sent less than stuckMs ago). */
  private busy(now: number): number {
    let n = 0
    for (const r of this.running) if (now - r.at < this.options.stuckMs) n++
    return n
  }

  private drain(): void {
    const now = performance.now()
    while (this.waiting.size && this.busy(now) < this.options.maxInFlight) {
      const batch = new Map<string, Entry<R>>()
      for (const [key, entry] of this.waiting) { // a Map iterates in insertion order: the oldest keys go first
        batch.set(key, entry)
        this.waiting.delete(key)
        if (batch.size >= this.options.maxBatch) break
      }
      const slot = { at: now }
      this.running.add(slot)
      coalesced.statements++
      const oldest = batch.values().next().value as Entry<R>
      let rows: Promise<Map<string, R>>
      try { rows = oldest.context(() => this.fetch([...batch.keys()])) } catch (e) { rows = Promise.reject(e) } // every waiter settles
      rows.then(
        (rows) => { for (const [key, entry] of batch) { const row = rows.get(key) ?? null; for (const w of entry.waiters) w.resolve(row) } },
        (e) => { for (const entry of batch.values()) for (const w of entry.waiters) w.reject(e) },
      ).finally(() => {
        this.running.delete(slot)
        this.drain()
      })
    }
    // Reads left waiting behind full slots: look again when the oldest statement would count as stuck, in case no
    // statement ends and no read arrives before then.
    if (this.waiting.size && !this.timer) {
      const oldest = this.running.values().next().value
      if (oldest) {
        this.timer = setTimeout(() => { this.timer = null; this.drain() }, Math.max(0, oldest.at + this.options.stuckMs - now) + 1)
        this.timer.unref?.()
      }
    }
  }
}

