// POST /verify: consume a one-time token from a mail link and log the user in. Types: signup (confirmation,
// or an invite with a password, as gotrue-js sends it), invite, recovery, email_change. The step itself is
// lib/verify.ts, which the account pages (features/pages.ts) share.
import { Elysia, t } from 'elysia'
import { HEADERS } from '../lib/openapi.ts'
import { jsonBody } from '../lib/body.ts'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody } from '../lib/errors.ts'
import { requestAud } from '../lib/guards.ts'
import { accessCookie } from '../lib/access-cookie.ts'
import { TokenBody } from '../lib/tokens.ts'
import { verifyToken } from '../lib/verify.ts'

export const VerifyBody = t.Object({
  type: t.Optional(t.String({ maxLength: 32 })),
  token: t.Optional(t.String({ maxLength: 512 })),
  password: t.Optional(t.String({ maxLength: 1024 })),
  email: t.Optional(t.String({ maxLength: 320, description: 'with a short code from a sign-in mail: the address it went to' })),
  token_hash: t.Optional(t.String({ maxLength: 512, description: "supabase's name for the link's token" })),
}, { additionalProperties: true })

export function verify(deps: Deps) {
  return new Elysia({ name: 'verify' })
    .model({ 'verify.body': VerifyBody, 'verify.response': TokenBody })
    .post('/verify', async ({ body, headers, set, request, server }) => {
      const token = body.token_hash || body.token
      const aud = requestAud(deps, headers)
      const { session, clearCookie } = await verifyToken(deps, { type: body.type, token, password: body.password, email: body.email, aud }, request, server)
      const cookies = [accessCookie(deps.config, headers['x-use-cookie'] ?? null, session.access_token, deps.clock.now()), clearCookie].filter(Boolean)
      if (cookies.length) set.headers['set-cookie'] = cookies as never
      return session
    }, {
      parse: jsonBody('Could not read verification params'),
      body: 'verify.body',
      response: { 200: 'verify.response', 403: ErrorBody, 404: ErrorBody, 422: ErrorBody, 429: ErrorBody },
      detail: { summary: 'Confirm a signup, accept an invite, recover, or confirm an email change, with the token from a mail', tags: ['accounts'], parameters: [HEADERS.cookie] },
    })
}
