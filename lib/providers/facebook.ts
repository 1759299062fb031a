// Facebook (Graph API). The token endpoint wants client_secret as a parameter rather than HTTP Basic, so it is
// added to the token URL; profile calls carry appsecret_proof = HMAC-SHA256(secret, access token). Facebook
// only returns an email it has confirmed, so it counts as verified.
import { createHmac } from 'node:crypto'
import { clean, getJson, type ProviderSpec } from './http.ts'

interface FacebookUser { id: string; email?: string; first_name?: string; last_name?: string; name?: string; picture?: { data?: { url?: string } } }

export const facebook: ProviderSpec = {
  name: 'facebook',
  scopes: ['email'],
  pkce: false,
  secretInQuery: true,
  endpoints: (base) => ({ authorize: `${base || 'https://www.facebook.com'}/dialog/oauth`, token: `${base || 'https://graph.facebook.com'}/oauth/access_token` }),
  async fetchUser(token, base, s) {
    const proof = createHmac('sha256', s.secret).update(token).digest('hex')
    const u = await getJson<FacebookUser>(`${base || 'https://graph.facebook.com'}/me?fields=email,first_name,last_name,name,picture&appsecret_proof=${proof}`, token)
    return {
      id: String(u.id),
      emails: u.email ? [{ email: u.email, verified: true, primary: true }] : [],
      metadata: clean({ slug: u.name ?? '', full_name: [u.first_name, u.last_name].filter(Boolean).join(' '), avatar_url: u.picture?.data?.url ?? '' }),
    }
  },
}
