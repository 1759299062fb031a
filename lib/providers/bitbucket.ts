// Bitbucket Cloud (or another host through GOTRUE_EXTERNAL_BITBUCKET_URL: OAuth under <url>/site/oauth2, API
// under <url>/2.0).
import { clean, getJson, type ProviderSpec } from './http.ts'

interface BitbucketUser { uuid?: string; account_id?: string; display_name?: string; links?: { avatar?: { href?: string } }; avatar?: { href?: string } }
interface BitbucketEmails { values?: { email: string; is_primary: boolean; is_confirmed: boolean }[] }

export const bitbucket: ProviderSpec = {
  name: 'bitbucket',
  scopes: ['account', 'email'],
  pkce: false,
  endpoints: (base) => ({
    authorize: `${base || 'https://bitbucket.org'}/site/oauth2/authorize`,
    token: `${base || 'https://bitbucket.org'}/site/oauth2/access_token`,
  }),
  async fetchUser(token, base) {
    const api = `${base || 'https://api.bitbucket.org'}/2.0`
    const u = await getJson<BitbucketUser>(`${api}/user`, token)
    const e = await getJson<BitbucketEmails>(`${api}/user/emails`, token)
    return {
      id: String(u.uuid ?? u.account_id ?? ''),
      emails: (e.values ?? []).filter((x) => x?.email).map((x) => ({ email: x.email, verified: !!x.is_confirmed, primary: !!x.is_primary })),
      metadata: clean({ full_name: u.display_name ?? '', avatar_url: u.links?.avatar?.href ?? u.avatar?.href ?? '' }),
    }
  },
}
