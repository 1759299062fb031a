import GoTrue from 'gotrue-js'

export async function example(url: string, email: string, password: string) {
  const auth = new GoTrue({ APIUrl: url, setCookie: false })
  await auth.signup(email, password, { full_name: 'Ada Lovelace' })
  const user = await auth.login(email, password) // throws JSONHTTPError: err.json is the error body
  const jwt = await user.jwt() // refreshed by gotrue-js when it is about to expire
  if (!jwt) throw new Error('no access token')
  await user.logout()
  return user.user_metadata.full_name as string
}
