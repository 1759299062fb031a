import { afterAll, describe, expect, test } from 'bun:test'
import { body, startServer, type TestServer } from './harness.ts'

const servers: TestServer[] = []
const start = async (env: Record<string, string>) => {
  const s = await startServer({ env })
  servers.push(s)
  return s
}
afterAll(async () => { for (const s of servers) await s.stop() })

describe('GET /settings', () => {
  test('defaults: every provider off, email on, no labels', async () => {
    const s = await start({})
    const res = await s.req('/settings')
    expect(res.status).toBe(200)
    expect(await body(res)).toEqual({
      external: { bitbucket: false, github: false, gitlab: false, google: false, facebook: false, email: true, saml: false },
      external_labels: {},
      disable_signup: false,
      autoconfirm: false,
    })
  })

  test('reports each provider ENABLED flag, email disabled, SAML label, signup and autoconfirm', async () => {
    const s = await start({
      GOTRUE_EXTERNAL_GITHUB_ENABLED: 'true', GOTRUE_EXTERNAL_GOOGLE_ENABLED: '1', GOTRUE_EXTERNAL_FACEBOOK_ENABLED: 'T',
      GOTRUE_EXTERNAL_BITBUCKET_ENABLED: 'true', GOTRUE_EXTERNAL_GITLAB_ENABLED: 'TRUE', GOTRUE_EXTERNAL_SAML_ENABLED: 'true',
      GOTRUE_EXTERNAL_SAML_NAME: 'TestSamlName', GOTRUE_EXTERNAL_EMAIL_DISABLED: 'true',
      GOTRUE_DISABLE_SIGNUP: 'true', GOTRUE_MAILER_AUTOCONFIRM: 'true',
    })
    expect(await body(await s.req('/settings'))).toEqual({
      external: { bitbucket: true, github: true, gitlab: true, google: true, facebook: true, email: false, saml: true },
      external_labels: { saml: 'TestSamlName' },
      disable_signup: true,
      autoconfirm: true,
    })
  })

})
