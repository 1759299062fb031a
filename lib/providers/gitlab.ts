// GitLab (gitlab.com or self-hosted through GOTRUE_EXTERNAL_GITLAB_URL). The profile email is verified when
// GitLab says it was confirmed; secondary emails are taken as unverified, as GoTrue does.
import { clean, getJson, type ProviderEmail, type ProviderSpec } from './http.ts'

interface GitLabUser { id: number; email?: string; name?: string; avatar_url?: string; confirmed_at?: string | null }
interface GitLabEmail { email: string }

export const gitlab: ProviderSpec = {
  name: 'gitlab',
  scopes: ['read_user'],
  pkce: true,
  endpoints: (base) => ({ authorize: `${base || 'https://gitlab.com'}/oauth/authorize`, token: `${base || 'https://gitlab.com'}/oauth/token` }),
  async fetchUser(token, base) {
    const api = `${base || 'https://gitlab.com'}/api/v4`
    const u = await getJson<GitLabUser>(`${api}/user`, token)
    const extra = await getJson<GitLabEmail[]>(`${api}/user/emails`, token)
    const emails: ProviderEmail[] = (Array.isArray(extra) ? extra : [])
      .filter((e) => e?.email && e.email !== u.email).map((e) => ({ email: e.email, verified: false, primary: false }))
    if (u.email) emails.unshift({ email: u.email, verified: !!u.confirmed_at, primary: true })
    return { id: String(u.id), emails, metadata: clean({ full_name: u.name ?? '', avatar_url: u.avatar_url ?? '' }) }
  },
}
