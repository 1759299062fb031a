// A real webhook receiver for tests: Bun.serve on 127.0.0.1:<ephemeral> (or every loopback address) that records every request (method, path,
// lower-cased headers, the raw body exactly as received) and answers from a script. Replies queued with
// reply(...) are used one per call, in order; when the queue is empty the default reply answers (200, empty
// body, unless setDefault changed it). A reply can be delayed (to trip the caller's timeout), carry a JSON or
// text body, or be sent chunked (a streamed body without Content-Length).

export interface HookCall {
  method: string
  path: string
  headers: Record<string, string>
  /** The body bytes as received, decoded as UTF-8 (what a signature's sha256 covers). */
  raw: string
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T
}

export interface HookReply {
  status?: number
  /** A string is sent as is; anything else as JSON. Omitted: an empty body. A function makes the body from the
   *  call it answers (a receiver that echoes what it was sent). */
  body?: unknown
  /** Milliseconds to wait before answering. */
  delayMs?: number
  /** Stream the body (Transfer-Encoding: chunked, no Content-Length); needs a non-empty body, see respond(). */
  chunked?: boolean
  /** Send the status, headers and the first byte of the body, then wait this long before the rest (implies chunked). */
  stallMs?: number
}

export interface WebhookReceiver {
  /** Base URL with a path, e.g. http://127.0.0.1:41234/hook */
  url: string
  origin: string
  port: number
  calls: HookCall[]
  /** Queue replies for the next calls, in order. */
  reply(...replies: HookReply[]): void
  /** The reply used when the queue is empty. */
  setDefault(reply: HookReply): void
  /** Resolves with the calls once at least n arrived; rejects after timeoutMs naming what did arrive. */
  waitForCalls(n: number, timeoutMs?: number): Promise<HookCall[]>
  /** Forgets calls and queued replies and restores the default reply (200, empty body). */
  reset(): void
  stop(): Promise<void>
}

function respond(r: HookReply): Response {
  const status = r.status ?? 200
  const text = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body)
  const headers = r.body !== undefined && typeof r.body !== 'string' ? { 'content-type': 'application/json' } : undefined
  if (!r.chunked && !r.stallMs) return new Response(text || null, { status, headers })
  // Bun.serve sends a stream that is still open after its first chunk as Transfer-Encoding: chunked. (A stream
  // that ends without any data still goes out as Content-Length: 0, so a chunked reply needs at least one byte.)
  const bytes = new TextEncoder().encode(text)
  const stream = new ReadableStream<Uint8Array>({
    async start(c) {
      await Bun.sleep(5)
      if (r.stallMs && bytes.length) {
        c.enqueue(bytes.slice(0, 1))
        await Bun.sleep(r.stallMs)
        c.enqueue(bytes.slice(1))
      } else if (bytes.length) c.enqueue(bytes)
      await Bun.sleep(5) // still open when the first chunk goes out, so Bun cannot send a Content-Length
      c.close()
    },
  })
  return new Response(stream, { status, headers })
}

/** `hostname` '::' listens on every address, IPv4 and IPv6, so a URL naming [::1], localhost or 0.0.0.0
 *  would reach it too; `url` always names 127.0.0.1. */
export function startWebhookReceiver(opts: { path?: string; hostname?: string } = {}): WebhookReceiver {
  const { path = '/hook', hostname = '127.0.0.1' } = opts
  const calls: HookCall[] = []
  const queue: HookReply[] = []
  const waiters = new Set<() => void>()
  let fallback: HookReply = {}
  const server = Bun.serve({
    hostname,
    port: 0,
    async fetch(req) {
      const raw = new TextDecoder().decode(await req.arrayBuffer())
      const url = new URL(req.url)
      const headers: Record<string, string> = {}
      req.headers.forEach((value, name) => { headers[name] = value })
      const call: HookCall = {
        method: req.method,
        path: url.pathname + url.search,
        headers,
        raw,
        json: <T>() => JSON.parse(raw) as T,
      }
      calls.push(call)
      for (const w of [...waiters]) w()
      const r = queue.shift() ?? fallback
      if (r.delayMs) await Bun.sleep(r.delayMs)
      return respond(typeof r.body === 'function' ? { ...r, body: (r.body as (c: HookCall) => unknown)(call) } : r)
    },
  })
  const origin = `http://127.0.0.1:${server.port}`
  return {
    url: origin + path,
    origin,
    port: server.port as number,
    calls,
    reply: (...r) => { queue.push(...r) },
    setDefault: (r) => { fallback = r },
    waitForCalls(n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (calls.length < n) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve([...calls])
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          const seen = calls.map((c) => `${c.method} ${c.path} ${c.headers['x-netlify-event'] ?? ''}`).join('; ') || 'none'
          reject(new Error(`webhook receiver: expected ${n} call(s) within ${timeoutMs}ms, got ${calls.length} (${seen})`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    reset() {
      calls.length = 0
      queue.length = 0
      fallback = {}
    },
    async stop() {
      await server.stop(true)
    },
  }
}
