// Request bodies: the size cap (GOTRUE_API_MAX_BODY_BYTES, GoTrue's JSON 413 whatever the framing) and the nesting
// cap on parsed JSON. lib/hooks.ts applies both to every route; the listeners take Bun's own cap from here.
import { HttpError } from './errors.ts'

export const tooLarge = (max: number) => new HttpError(413, `Request body too large (limit ${max} bytes)`)

/** Bun's own cap (`maxRequestBodySize`), for both listeners. Bun answers a body over it with a bare 413 and no
 *  JSON: before any handler for a declared length, and in place of the handler's answer for a chunked one
 *  (Bun 1.4 counts chunked bytes too). GOTRUE_API_MAX_BODY_BYTES itself is enforced by the parse hook with
 *  GoTrue's JSON 413 whatever the framing, so Bun's cap sits above it: a client that declares up to twice the
 *  limit still gets a readable error, and what a connection can make the server buffer stays within 2x the cap. */
export const serverBodyLimit = (maxBody: number): number => 2 * maxBody

/** The parse hook's check, before the body is read. A declared length over the cap is refused at once (Bun holds
 *  a body to its declared length, and refuses one that also says Transfer-Encoding); Elysia's own parsers then
 *  read it. A body without a declared length (chunked) is counted as it arrives. */
export function capBody(request: Request, max: number): Promise<undefined> | undefined {
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (Number(declared) > max) throw tooLarge(max)
    return undefined
  }
  return request.body ? bufferCapped(request, max) : undefined
}

/** Reads a body without a declared length, counting its bytes: over `max`, the read stops and the request gets
 *  the JSON 413. The bytes read become the request's body for Elysia's parsers (json, text, urlencoded, form
 *  data, as for any request): its body methods are shadowed on this one Request, so the object (and what is
 *  keyed by it: the request id, the client address) stays the same. */
async function bufferCapped(request: Request, max: number): Promise<undefined> {
  const reader = (request.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    size += r.value.byteLength
    if (size > max) {
      void reader.cancel().catch(() => {})
      throw tooLarge(max)
    }
    chunks.push(r.value)
  }
  const copy = new Response(Buffer.concat(chunks), { headers: request.headers })
  for (const m of ['arrayBuffer', 'blob', 'bytes', 'formData', 'json', 'text'] as const) {
    Object.defineProperty(request, m, { value: () => copy[m](), configurable: true })
  }
  return undefined
}

/** Request JSON nested deeper than 64 levels (System.Text.Json's default) is refused before any handler. The
 *  reference (Go's encoding/json) allows 10,000, but here depth is a cost: JSON.parse accepts any depth while
 *  storing ~50,000 levels (JSON.stringify) overflows the stack (a 500), and outside NODE_ENV=production Elysia
 *  pretty-prints the whole body into every validation error, quadratic in depth (a 900 KB body of 5,000-level
 *  chains cost 7.8 s of CPU; at 64 levels a failed 1 MB body costs about twice a flat one). No metadata needs
 *  more. Iterative, so the check itself cannot overflow. */
export const MAX_DEPTH = 64
export function tooDeep(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return false
  const stack: [object, number][] = [[value, 1]]
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [v, depth] = top
    if (depth > MAX_DEPTH) return true
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
  }
  return false
}

/** A route's own body reader, as the reference reads JSON bodies: decoded whatever the content type (plain
 *  `fetch` sends a string as text/plain, some generated clients send none), and an unreadable one answered with
 *  the route's own message (`Could not read Signup params: …`; gotrue-js shows `msg` to people). An empty body is
 *  Go's decoder error `EOF`. Forms and multipart bodies are left to Elysia's parsers. Runs after the global cap
 *  (lib/hooks.ts), whose buffered copy it reads for a chunked body. */
export function jsonBody(what: string) {
  const read = async ({ request }: { request: Request }): Promise<unknown> => {
    const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (type === 'application/x-www-form-urlencoded' || type === 'multipart/form-data') return undefined
    const text = await request.text()
    if (!text.trim()) throw new HttpError(400, `${what}: EOF`)
    try {
      return JSON.parse(text)
    } catch (e) {
      throw new HttpError(400, `${what}: ${(e as Error).message}`)
    }
  }
  // the OpenAPI document's example of this route's 400 (lib/openapi.ts)
  return Object.assign(read, { unreadable: what })
}
