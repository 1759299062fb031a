// Composition root: the lifecycle hooks first (their onError is global), then the docs, then every feature.
// Frontends import `type App` from here for Eden's typed client. Multi-instance mode composes a second, smaller
// app for the operator (bin/multi.ts dispatches between it and the instances' apps).
import { Elysia } from 'elysia'
import { adminAudit } from './features/admin-audit.ts'
import { adminFactors } from './features/admin-factors.ts'
import { adminSessions } from './features/admin-sessions.ts'
import { adminUsers } from './features/admin-users.ts'
import { authorize } from './features/authorize.ts'
import { callback } from './features/callback.ts'
import { factors } from './features/factors.ts'
import { health } from './features/health.ts'
import { instances } from './features/instances.ts'
import { invite } from './features/invite.ts'
import { logout } from './features/logout.ts'
import { metrics } from './features/metrics.ts'
import { reauthenticate } from './features/reauthenticate.ts'
import { recover } from './features/recover.ts'
import { recoveryCodes } from './features/recovery-codes.ts'
import { otp } from './features/otp.ts'
import { adminGenerateLink } from './features/admin-generate-link.ts'
import { sessions } from './features/sessions.ts'
import { settings } from './features/settings.ts'
import { signup } from './features/signup.ts'
import { token } from './features/token.ts'
import { user } from './features/user.ts'
import { verify } from './features/verify.ts'
import { pages } from './features/pages.ts'
import { wellKnown } from './features/well-known.ts'
import { serverBodyLimit } from './lib/body.ts'
import type { Deps } from './lib/deps.ts'
import { hooks } from './lib/hooks.ts'
import { docs } from './lib/openapi.ts'

export function createApp(deps: Deps) {
  return new Elysia({
    name: 'gotrue',
    normalize: true,
    // Bun's own cap (a bare 413 before any hook runs) is the backstop; the parse hook answers the JSON 413.
    serve: { maxRequestBodySize: serverBodyLimit(deps.config.api.max_body_bytes) },
  })
    .use(hooks(deps))
    .use(docs(deps.version))
    .use(health(deps))
    .use(settings(deps))
    .use(wellKnown(deps))
    .use(metrics(deps))
    .use(signup(deps))
    .use(verify(deps))
    .use(pages(deps))
    .use(recover(deps))
    .use(otp(deps))
    .use(token(deps))
    .use(user(deps))
    .use(reauthenticate(deps))
    .use(sessions(deps))
    .use(recoveryCodes(deps))
    .use(factors(deps))
    .use(logout(deps))
    .use(invite(deps))
    .use(authorize(deps))
    .use(callback(deps))
    .use(adminUsers(deps))
    .use(adminSessions(deps))
    .use(adminFactors(deps))
    .use(adminAudit(deps))
    .use(adminGenerateLink(deps))
}

export type App = ReturnType<typeof createApp>

/** Multi-instance mode's own app: the operator API, health, metrics and docs. `changed(id)` is told when the
 *  operator changes or deletes an instance, so the dispatcher drops that instance's cached app. */
export function createOperatorApp(deps: Deps, opts: { changed(id: string): void }) {
  return new Elysia({ name: 'operator', normalize: true })
    .use(hooks(deps))
    .use(docs(deps.version))
    .use(health(deps))
    .use(metrics(deps))
    .use(instances(deps, opts))
}
