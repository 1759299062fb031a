// Composition root: the lifecycle hooks first (their onError is global), then the docs, then every feature.
// Frontends import `type App` from here for Eden's typed client.
import { Elysia } from 'elysia'
import { adminAudit } from './features/admin-audit.ts'
import { adminUsers } from './features/admin-users.ts'
import { external } from './features/external.ts'
import { health } from './features/health.ts'
import { invite } from './features/invite.ts'
import { logout } from './features/logout.ts'
import { metrics } from './features/metrics.ts'
import { recover } from './features/recover.ts'
import { settings } from './features/settings.ts'
import { signup } from './features/signup.ts'
import { token } from './features/token.ts'
import { user } from './features/user.ts'
import { verify } from './features/verify.ts'
import type { Deps } from './lib/deps.ts'
import { hooks } from './lib/hooks.ts'
import { docs } from './lib/openapi.ts'

export function createApp(deps: Deps) {
  return new Elysia({
    name: 'gotrue',
    normalize: true,
    // Bun's own cap is a backstop for chunked bodies; declared lengths get the JSON 413 from lib/hooks.ts.
    serve: { maxRequestBodySize: deps.config.api.max_body_bytes + 64 * 1024 },
  })
    .use(hooks(deps))
    .use(docs(deps.version))
    .use(health(deps))
    .use(settings(deps))
    .use(metrics(deps))
    .use(signup(deps))
    .use(verify(deps))
    .use(recover(deps))
    .use(token(deps))
    .use(user(deps))
    .use(logout(deps))
    .use(invite(deps))
    .use(external(deps))
    .use(adminUsers(deps))
    .use(adminAudit(deps))
}

export type App = ReturnType<typeof createApp>
