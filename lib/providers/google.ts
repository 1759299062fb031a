// Google (userinfo v2). One email, verified as Google says.
import { clean, getJson, type ProviderSpec } from './http.ts'

interface GoogleUser { id: string; email?: string; verified_email?: boolean; name?: string; picture?: string }

export const google: ProviderSpec = {
  name: 'google',
  scopes: ['email', 'profile'],
  pkce: true,
  endpoints: (base) => ({ authorize: `${base || 'https://accounts.google.com'}/o/oauth2/auth`, token: `${base || 'https://accounts.google.com'}/o/oauth2/token` }),
  async fetchUser(token, base) {
    const u = await getJson<GoogleUser>(`${base || 'https://www.googleapis.com'}/userinfo/v2/me`, token)
    return {
      id: String(u.id),
      emails: u.email ? [{ email: u.email, verified: !!u.verified_email, primary: true }] : [],
      metadata: clean({ full_name: u.name ?? '', avatar_url: u.picture ?? '' }),
    }
  },
}
