// GET /settings: the public settings a frontend needs (which providers are on, signup, autoconfirm).
// Built from config only: each provider's ENABLED flag, as the reference reports it.
import { Elysia, t } from 'elysia'
import { PROVIDER_NAMES } from '../lib/config-schema.ts'
import type { Deps } from '../lib/deps.ts'

const Bool = t.Boolean()
export const SettingsBody = t.Object({
  external: t.Object({
    bitbucket: Bool, github: Bool, gitlab: Bool, google: Bool, facebook: Bool, email: Bool, saml: Bool,
  }),
  external_labels: t.Object({ saml: t.Optional(t.String()) }),
  disable_signup: Bool,
  autoconfirm: Bool,
})

export function settings(deps: Deps) {
  const { external, disable_signup, mailer } = deps.config
  const providers = Object.fromEntries(PROVIDER_NAMES.map((p) => [p, external[p].enabled]))
  const body = {
    external: { ...providers, email: !external.email.disabled, saml: external.saml.enabled } as typeof SettingsBody.static.external,
    external_labels: external.saml.name ? { saml: external.saml.name } : {},
    disable_signup,
    autoconfirm: mailer.autoconfirm,
  }
  return new Elysia({ name: 'settings' })
    .model({ 'settings.response': SettingsBody })
    .get('/settings', () => body, {
      response: { 200: 'settings.response' },
      detail: { summary: 'Public settings: enabled providers, signup and autoconfirm', tags: ['public'] },
    })
}
