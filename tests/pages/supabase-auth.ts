// A browser page's use of @supabase/auth-js, bundled by tests/supabase-browser.test.ts with Bun.build and served
// from an origin of its own. window.flow(apiUrl, email, password) runs the core flow in the page and reports
// what each step saw.
import { AuthClient } from '@supabase/auth-js'

async function flow(url: string, email: string, password: string) {
  const auth = new AuthClient({ url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false })
  const out: Record<string, unknown> = {}
  const up = await auth.signUp({ email, password, options: { data: { from: 'browser' } } })
  out.signUp = { error: up.error?.message ?? null, hasSession: Boolean(up.data.session), meta: up.data.user?.user_metadata }
  await auth.signOut({ scope: 'local' })
  const signed = await auth.signInWithPassword({ email, password })
  out.signIn = { error: signed.error?.message ?? null, email: signed.data.user?.email ?? null }
  const before = signed.data.session?.refresh_token
  const refreshed = await auth.refreshSession()
  out.refresh = { error: refreshed.error?.message ?? null, rotated: Boolean(before) && refreshed.data.session?.refresh_token !== before, email: refreshed.data.user?.email ?? null }
  const user = await auth.getUser()
  out.getUser = { error: user.error?.message ?? null, email: user.data.user?.email ?? null }
  const wrong = await auth.signInWithPassword({ email, password: `${password}-wrong` })
  out.wrong = { code: wrong.error?.code ?? null }
  await auth.signInWithPassword({ email, password })
  const token = (await auth.getSession()).data.session?.access_token ?? ''
  const out2 = await auth.signOut()
  out.signOut = { error: out2.error?.message ?? null, session: (await auth.getSession()).data.session }
  // The access token of the ended session is refused from then on.
  const after = await fetch(`${url}/user`, { headers: { authorization: `Bearer ${token}`, 'x-supabase-api-version': '2024-01-01' } })
  out.afterSignOut = after.status
  return out
}

;(globalThis as unknown as { flow: typeof flow }).flow = flow
