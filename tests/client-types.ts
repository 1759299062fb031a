// Compiled (never run) by tests/client.test.ts with `tsc --noEmit`: the correct calls must compile and each
// deliberate mistake must stay an error. tsc reports a `@ts-expect-error` that no longer has an error to expect
// (TS2578), so a type that turns loose (a `string | number` code, an optional field, an open object) fails the test.
import { createClient, isOAuthError, type ApiError, type Tokens, type User } from '../openapi/client/src/index.ts'

export async function correct(url: string): Promise<number> {
  const auth = createClient({ url })
  const login = await auth.login('ada@example.com', 'correct-horse-battery')
  if (login.error) {
    const status: number = login.error.status
    if (isOAuthError(login.error)) return status + login.error.error.length
    const code: number = login.error.code // an integer, not `string | number`
    return code
  }
  const seconds: number = login.data.expires_in
  const type: 'bearer' = login.data.token_type
  const me = await auth.user()
  const id: string | undefined = me.data?.id
  await auth.token({ grant_type: 'refresh_token', refresh_token: login.data.refresh_token })
  const { data } = await auth.api.GET('/admin/users', { params: { query: { page: '1', per_page: '10' } } })
  return seconds + type.length + (id?.length ?? 0) + (data?.users.length ?? 0)
}

export async function mistakes(url: string, tokens: Tokens, user: User, error: ApiError): Promise<unknown[]> {
  const auth = createClient({ url })
  return [
    // @ts-expect-error a misspelled grant type
    await auth.token({ grant_type: 'pasword', username: 'ada@example.com', password: 'x' }),
    // @ts-expect-error a password grant without its password
    await auth.token({ grant_type: 'password', username: 'ada@example.com' }),
    // @ts-expect-error signup needs an email and a password
    await auth.signup({}),
    // @ts-expect-error a misspelled response field (the schema is closed)
    tokens.acess_token,
    // @ts-expect-error a misspelled field of the user
    user.emial,
    // @ts-expect-error expires_in is a number, not a string
    tokens.expires_in.toUpperCase(),
    // @ts-expect-error a GoTrue error code is a number, never a string
    ('code' in error && error.code) === '422',
    // @ts-expect-error a string where the document says integer
    { ...tokens, expires_in: '3600' } satisfies Tokens,
    // @ts-expect-error the OAuth error codes are an enum
    'error' in error && error.error === 'invalid_password',
    // @ts-expect-error a route that does not exist
    await auth.api.GET('/users'),
    // @ts-expect-error the verify types are an enum
    await auth.verify({ type: 'confirm', token: 'x' }),
  ]
}
