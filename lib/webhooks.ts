// GoTrue's outgoing webhooks (spec §9): POST {event, instance_id, user} with `X-Netlify-Event: identity_<event>`
// and, with WEBHOOK_SECRET, `x-webhook-signature`: an HS256 JWT {iss: "gotrue", sub: instance id, iat, sha256 of
// the body}. Success is 200/202/204; a JSON reply {app_metadata, user_metadata} replaces the user's metadata.
// Better than the reference: retries back off and skip 4xx replies, callers never
// hold a database transaction while a hook runs, targets on loopback/private addresses are refused
// (SSRF guard) unless GOTRUE_WEBHOOK_ALLOW_LOCAL=true, the timeout covers the reply body too, and error
// messages never show the URL's userinfo or query. (Elysia's lifecycle hooks are lib/hooks.ts, not this.)
import type { Config, WebhookEvent } from './config.ts'
import { NOTICE_EVENTS } from './config-schema.ts'
import { HttpError } from './errors.ts'
import { signHS256 } from './jwt.ts'
import type { Logger } from './log.ts'
import { checkedAddress, fetchAt } from './ssrf.ts'
import type { Metadata, UserJson, UserPatch } from './users.ts'

export type HookEvent = WebhookEvent
export interface HookReply { app_metadata?: Metadata; user_metadata?: Metadata }
export interface Webhooks {
  /** Whether `event` is sent at all (so callers can skip building payloads). */
  wants(event: HookEvent): boolean
  /** Sends the event; resolves with the receiver's metadata reply (or null), throws HttpError on failure. `extra`
   *  (a notification's `session` or `factor` object, lib/notices.ts) is added to GoTrue's body. */
  send(event: HookEvent, instanceId: string, user: UserJson, extra?: Record<string, unknown>): Promise<HookReply | null>
}

const OK = new Set([200, 202, 204])
const IGNORED_REPLY = new Set<HookEvent>(['userdeleted', ...NOTICE_EVENTS])
/** Fetch error codes that mean no connection was made (Bun names them like libuv): 502, no retry. */
const NO_CONNECTION = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ConnectionRefused', 'FailedToOpenSocket', 'UnableToConnect'])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)
const malformed = (why: string) => new HttpError(500, `Webhook returned malformed JSON: ${why}`)
/** The most of a reply read: metadata fits well within it, and a receiver (in operator mode, a site owner's) that
 *  answers without end cannot make the process buffer more than this per call. */
const MAX_REPLY = 1024 * 1024

/** The reply's body as text, or `malformed` once it passes MAX_REPLY (the rest is never read: the stream is
 *  cancelled, which closes the connection). */
async function replyText(res: Response): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const parts: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_REPLY) {
      await reader.cancel().catch(() => {})
      throw malformed('reply over 1 MiB')
    }
    parts.push(value)
  }
  return Buffer.concat(parts).toString('utf8')
}

/** The target as error messages show it to clients: without userinfo (sent as Basic auth), query or fragment,
 *  which may hold the receiver's credentials. The reference prints the whole URL. */
function shown(url: URL): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  u.search = ''
  u.hash = ''
  return u.toString()
}

/** A 2xx body: empty, JSON null, or an object whose app_metadata / user_metadata are objects (or null). As in the
 *  reference (which decodes into maps), anything else is malformed rather than silently stored. */
function parseReply(text: string): HookReply | null {
  if (!text.trim()) return null
  let v: unknown
  try { v = JSON.parse(text) } catch (e) { throw malformed(e instanceof Error ? e.message : String(e)) }
  if (v === null) return null
  if (!isObject(v)) throw malformed('expected a JSON object')
  const reply: HookReply = {}
  for (const k of ['app_metadata', 'user_metadata'] as const) {
    const m = v[k]
    if (m === undefined || m === null) continue
    if (!isObject(m)) throw malformed(`${k} must be an object`)
    reply[k] = m
  }
  return reply
}

export function makeWebhooks(config: Config, log: Logger): Webhooks {
  const { url, secret, retries, timeout_sec: timeoutSec, events, allow_local: allowLocal } = config.webhook
  const target = url ? new URL(url, config.site_url) : null
  const wanted = new Set(events)
  return {
    wants: (event) => !!target && wanted.has(event),
    async send(event, instanceId, user, extra) {
      if (!target || !wanted.has(event)) return null
      const body = JSON.stringify({ event, instance_id: instanceId, user, ...extra })
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-netlify-event': `identity_${event}` }
      if (secret) {
        const sha256 = new Bun.CryptoHasher('sha256').update(body).digest('hex')
        headers['x-webhook-signature'] = await signHS256({ iss: 'gotrue', sub: instanceId, iat: Math.floor(Date.now() / 1000), sha256 }, secret, undefined)
      }
      let address: string
      try { address = await checkedAddress(target, allowLocal) } catch (e) {
        log.warn('webhook refused', { component: 'webhook', event, error: e })
        throw new HttpError(502, `Failed to connect to ${shown(target)}`)
      }
      const attempts = Math.max(retries, 1)
      for (let attempt = 1; ; attempt++) {
        const started = performance.now()
        let status: number
        let text: string
        try {
          // The timeout covers the whole exchange, body included: a receiver that stalls mid-reply times out too.
          const res = await fetchAt(target, address, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutSec * 1000) })
          status = res.status
          text = await replyText(res)
        } catch (e) {
          if (e instanceof HttpError) throw e // a reply too large: the receiver's answer, not a failed attempt
          const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
          log.warn('webhook attempt failed', { component: 'webhook', event, attempt, signed: !!secret, error: timedOut ? 'timeout' : e })
          if (!timedOut) {
            const code = (e as { code?: unknown } | null)?.code
            if (typeof code === 'string' && NO_CONNECTION.has(code)) throw new HttpError(502, `Failed to connect to ${shown(target)}`)
            throw new HttpError(500, `Failed to trigger webhook to ${shown(target)}`, e) // connected, then failed
          }
          if (attempt >= attempts) throw new HttpError(504, `Failed to perform webhook in time frame (${timeoutSec} seconds)`)
          await sleep(Math.min(100 * 2 ** (attempt - 1), 2000))
          continue
        }
        log.info('webhook attempt', { component: 'webhook', event, attempt, signed: !!secret, status_code: status, dur_ms: Math.round(performance.now() - started), content_length: text.length })
        // Notifications ignore the reply: there is no user left to patch, or nothing for a reply to change.
        if (OK.has(status)) return IGNORED_REPLY.has(event) ? null : parseReply(text)
        // A 4xx is the receiver's answer (e.g. "reject this signup"): retrying would not change it. The message is
        // the reference's, word for word, for every event (clients match on it).
        if ((status >= 400 && status < 500) || attempt >= attempts) throw new HttpError(422, 'Failed to handle signup webhook')
        await sleep(Math.min(100 * 2 ** (attempt - 1), 2000))
      }
    },
  }
}

/** A receiver's reply as a user update: a present (non-null) app_metadata / user_metadata replaces the stored one. */
export function replyPatch(reply: HookReply | null): UserPatch {
  const patch: UserPatch = {}
  if (reply && isObject(reply.app_metadata)) patch.raw_app_meta_data = JSON.stringify(reply.app_metadata)
  if (reply && isObject(reply.user_metadata)) patch.raw_user_meta_data = JSON.stringify(reply.user_metadata)
  return patch
}
