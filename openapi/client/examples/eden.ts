import { treaty } from '@elysiajs/eden'
import type { App } from '@gotrue-bun/client/app'

export async function example(url: string, email: string, password: string) {
  const api = treaty<App>(url)
  await api.signup.post({ email, password, data: { full_name: 'Ada Lovelace' } })
  const { data, error } = await api.token.post({ grant_type: 'password', username: email, password })
  if (error) throw new Error(JSON.stringify(error.value))
  const me = await api.user.get({ headers: { authorization: `Bearer ${data.access_token}` } })
  return me.data?.user_metadata.full_name
}
