import { createClient, errorMessage } from '@gotrue-bun/client'

export async function example(url: string, email: string, password: string) {
  const auth = createClient({ url }) // e.g. https://example.com/.netlify/identity
  const signup = await auth.signup({ email, password, data: { full_name: 'Ada Lovelace' } })
  if (signup.error) throw new Error(errorMessage(signup.error)) // { status, code: number, msg }
  const login = await auth.login(email, password) // form-encoded POST /token
  if (login.error) throw new Error(errorMessage(login.error)) // { status, error, error_description }
  const me = await auth.user() // Authorization: Bearer …, refreshed before it expires
  return me.data?.user_metadata.full_name
}
