// GoTrue's outgoing webhooks (spec §9): POST {event, instance_id, user} with `X-Netlify-Event: identity_<event>`
// and, with WEBHOOK_SECRET, `x-webhook-signature`: an HS256 JWT {iss: "gotrue", sub: instance id, iat, sha256 of
// the body}. Success is 200/202/204; a JSON reply {app_metadata, user_metadata} replaces the user's metadata.
// Better than the reference: retries back off and skip 4xx replies, callers never
// hold a database transaction while a hook runs, and targets on loopback/private addresses are refused
// (SSRF guard) unless GOTRUE_WEBHOOK_ALLOW_LOCAL=true. (Elysia's lifecycle hooks are lib/hooks.ts, not this.)
import type { Config } from './config.ts'
import { HttpError } from './errors.ts'
import { signHS256 } from './jwt.ts'
import type { Logger } from './log.ts'
import { assertPublicUrl } from './ssrf.ts'
import type { Metadata, UserJson, UserPatch } from './users.ts'

export type HookEvent = 'validate' | 'signup' | 'login' | 'userdeleted' | 'usermodified'
export interface HookReply { app_metadata?: Metadata; user_metadata?: Metadata }
export interface Webhooks {
  /** Whether `event` is sent at all (so callers can skip building payloads). */
  wants(event: HookEvent): boolean
  /** Sends the event; resolves with the receiver's metadata reply (or null), throws HttpError on failure. */
  send(event: HookEvent, instanceId: string, user: UserJson): Promise<HookReply | null>
}

const OK = new Set([200, 202, 204])
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export function makeWebhooks(config: Config, log: Logger): Webhooks {
  const { url, secret, retries, timeout_sec: timeoutSec, events, allow_local: allowLocal } = config.webhook
  const target = url ? new URL(url, config.site_url) : null
  const wanted = new Set(events)
  return {
    wants: (event) => !!target && wanted.has(event),
    async send(event, instanceId, user) {
      if (!target || !wanted.has(event)) return null
      const body = JSON.stringify({ event, instance_id: instanceId, user })
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-netlify-event': `identity_${event}` }
      if (secret) {
        const sha256 = new Bun.CryptoHasher('sha256').update(body).digest('hex')
        headers['x-webhook-signature'] = await signHS256({ iss: 'gotrue', sub: instanceId, iat: Math.floor(Date.now() / 1000), sha256 }, secret, undefined)
      }
      try { await assertPublicUrl(target, allowLocal) } catch (e) {
        log.warn('webhook refused', { component: 'webhook', event, error: e })
        throw new HttpError(502, `Failed to connect to ${target}`)
      }
      const attempts = Math.max(retries, 1)
      for (let attempt = 1; ; attempt++) {
        const started = performance.now()
        let res: Response
        try {
          res = await fetch(target, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutSec * 1000) })
        } catch (e) {
          const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')
          log.warn('webhook attempt failed', { component: 'webhook', event, attempt, signed: !!secret, error: timedOut ? 'timeout' : e })
          if (!timedOut) throw new HttpError(502, `Failed to connect to ${target}`)
          if (attempt >= attempts) throw new HttpError(504, `Failed to perform webhook in time frame (${timeoutSec} seconds)`)
          await sleep(Math.min(100 * 2 ** (attempt - 1), 2000))
          continue
        }
        const text = await res.text()
        log.info('webhook attempt', { component: 'webhook', event, attempt, signed: !!secret, status_code: res.status, dur_ms: Math.round(performance.now() - started), content_length: text.length })
        if (OK.has(res.status)) {
          if (!text.trim() || event === 'userdeleted') return null
          try {
            const reply = JSON.parse(text) as HookReply
            if (!reply || typeof reply !== 'object' || Array.isArray(reply)) throw new Error('expected a JSON object')
            return reply
          } catch (e) {
            throw new HttpError(500, `Webhook returned malformed JSON: ${e instanceof Error ? e.message : String(e)}`)
          }
        }
        // A 4xx is the receiver's answer (e.g. "reject this signup"): retrying would not change it. The message is
        // the reference's, word for word, for every event (clients match on it).
        if ((res.status >= 400 && res.status < 500) || attempt >= attempts) throw new HttpError(422, 'Failed to handle signup webhook')
        await sleep(Math.min(100 * 2 ** (attempt - 1), 2000))
      }
    },
  }
}

/** A receiver's reply as a user update: a present (non-null) app_metadata / user_metadata replaces the stored one. */
export function replyPatch(reply: HookReply | null): UserPatch {
  const patch: UserPatch = {}
  const obj = (v: unknown) => v && typeof v === 'object' && !Array.isArray(v)
  if (reply && obj(reply.app_metadata)) patch.raw_app_meta_data = JSON.stringify(reply.app_metadata)
  if (reply && obj(reply.user_metadata)) patch.raw_user_meta_data = JSON.stringify(reply.user_metadata)
  return patch
}
