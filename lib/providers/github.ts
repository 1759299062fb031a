// GitHub (and GitHub Enterprise through GOTRUE_EXTERNAL_GITHUB_URL: the API moves to <url>/api/v3).
import { clean, getJson, type ProviderSpec } from './http.ts'

interface GitHubUser { id: number; login?: string; name?: string | null; avatar_url?: string | null; email?: string | null }
interface GitHubEmail { email: string; primary: boolean; verified: boolean }

export const github: ProviderSpec = {
  name: 'github',
  scopes: ['user:email'],
  pkce: true,
  endpoints: (base) => ({
    authorize: `${base || 'https://github.com'}/login/oauth/authorize`,
    token: `${base || 'https://github.com'}/login/oauth/access_token`,
  }),
  async fetchUser(token, base) {
    const api = base ? `${base}/api/v3` : 'https://api.github.com'
    const u = await getJson<GitHubUser>(`${api}/user`, token)
    const emails = await getJson<GitHubEmail[]>(`${api}/user/emails`, token)
    return {
      id: String(u.id),
      emails: (Array.isArray(emails) ? emails : []).filter((e) => e?.email).map((e) => ({ email: e.email, verified: !!e.verified, primary: !!e.primary })),
      metadata: clean({ full_name: u.name ?? '', avatar_url: u.avatar_url ?? '' }),
    }
  },
}
