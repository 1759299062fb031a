// auth.admin.* of @supabase/auth-js, unmodified, with a service_role key signed by the server's secret, as
// supabase clients send it: createUser, listUsers (page, perPage), getUserById, updateUserById, deleteUser,
// inviteUserByEmail, generateLink. A token that only claims the role is refused.
import { AuthClient, GoTrueAdminApi } from '@supabase/auth-js'
import { createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { JWT_SECRET, startServer, type TestServer, tokenFromMail } from './harness.ts'
import { freshEmail, PASSWORD } from './helpers.ts'

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
/** A key as supabase makes one: role service_role, no sub, long-lived. */
function serviceKey(secret: string, extra: object = {}): string {
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'supabase', role: 'service_role', iat: now, exp: now + 3600, ...extra })}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}
const admin = (s: TestServer, key = serviceKey(JWT_SECRET)) => new GoTrueAdminApi({ url: s.url, headers: { Authorization: `Bearer ${key}`, apikey: key } })
function client(s: TestServer) {
  const store = new Map<string, string>()
  return new AuthClient({
    url: s.url, autoRefreshToken: false, persistSession: true, detectSessionInUrl: false,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v), removeItem: (k) => void store.delete(k) },
  })
}

describe('auth.admin with a service_role key', () => {
  let s: TestServer
  beforeAll(async () => { s = await startServer({ env: { GOTRUE_URI_ALLOW_LIST: 'https://app.example.org/**' } }) })
  afterAll(() => s.stop())

  test('createUser (email_confirm), getUserById, updateUserById, deleteUser', async () => {
    const api = admin(s)
    const email = freshEmail('adm')
    const created = await api.createUser({ email, password: PASSWORD, email_confirm: true, user_metadata: { name: 'Ada' }, app_metadata: { plan: 'pro' } })
    expect(created.error).toBeNull()
    const user = created.data.user!
    expect(user.email).toBe(email)
    expect(user.email_confirmed_at).toBeString()
    expect(user.app_metadata.plan).toBe('pro')
    expect((await client(s).signInWithPassword({ email, password: PASSWORD })).error).toBeNull()
    expect((await api.getUserById(user.id)).data.user?.user_metadata).toEqual({ name: 'Ada' })
    const updated = await api.updateUserById(user.id, { user_metadata: { role: 'lead' } })
    expect(updated.error).toBeNull()
    expect(updated.data.user?.user_metadata).toEqual({ name: 'Ada', role: 'lead' })
    expect((await api.deleteUser(user.id)).error).toBeNull()
    const gone = await api.getUserById(user.id)
    expect(gone.error?.status).toBe(404)
    expect(gone.error?.code).toBe('user_not_found')
  })

  test('listUsers pages with page and perPage', async () => {
    const api = admin(s)
    for (let i = 0; i < 3; i++) expect((await api.createUser({ email: freshEmail('list'), password: PASSWORD })).error).toBeNull()
    const first = await api.listUsers({ page: 1, perPage: 2 })
    expect(first.error).toBeNull()
    expect(first.data.users).toHaveLength(2)
    expect(first.data.users[0]?.identities).toBeArray()
    expect((first.data as { total?: number }).total).toBeGreaterThanOrEqual(3)
    const second = await api.listUsers({ page: 2, perPage: 2 })
    expect(second.data.users.map((u) => u.id)).not.toContain(first.data.users[0]!.id)
  })

  test('inviteUserByEmail mails an invite to an allowed redirectTo; the invitee accepts with verifyOtp', async () => {
    const email = freshEmail('inv')
    const invited = await admin(s).inviteUserByEmail(email, { data: { team: 'a' }, redirectTo: 'https://app.example.org/join' })
    expect(invited.error).toBeNull()
    expect(invited.data.user?.email).toBe(email)
    const mail = await s.smtp.waitForMail(email)
    expect(mail.html).toContain('https://app.example.org/join#invite_token=')
    const token = tokenFromMail(mail, 'invite_token')
    expect((await s.req('/verify', { method: 'POST', json: { type: 'invite', token, password: PASSWORD } })).status).toBe(200)
  })

  test('generateLink: magiclink (with its code), recovery, signup, invite, email change; nothing is mailed', async () => {
    const api = admin(s)
    const email = freshEmail('gen')
    const signup = await api.generateLink({ type: 'signup', email, password: PASSWORD, options: { redirectTo: 'https://app.example.org/in' } })
    expect(signup.error).toBeNull()
    expect(signup.data.user?.email).toBe(email)
    expect(signup.data.properties?.verification_type).toBe('signup')
    expect(signup.data.properties?.action_link).toStartWith('https://app.example.org/in#confirmation_token=')
    expect(signup.data.properties?.redirect_to).toBe('https://app.example.org/in')
    expect((await client(s).verifyOtp({ token_hash: signup.data.properties!.hashed_token, type: 'signup' })).error).toBeNull()

    const magic = await api.generateLink({ type: 'magiclink', email })
    expect(magic.data.properties?.email_otp).toMatch(/^\d{6}$/)
    expect(magic.data.properties?.action_link).toContain('token_hash=')
    const signedIn = await client(s).verifyOtp({ email, token: magic.data.properties!.email_otp, type: 'magiclink' })
    expect(signedIn.error).toBeNull()

    const recovery = await api.generateLink({ type: 'recovery', email })
    expect((await client(s).verifyOtp({ token_hash: recovery.data.properties!.hashed_token, type: 'recovery' })).error).toBeNull()

    const to = freshEmail('gen-new')
    const change = await api.generateLink({ type: 'email_change_new', email, newEmail: to })
    expect(change.error).toBeNull()
    expect(change.data.user?.new_email).toBe(to)
    const changed = await client(s).verifyOtp({ token_hash: change.data.properties!.hashed_token, type: 'email_change' })
    expect(changed.data.user?.email).toBe(to)

    const invitee = freshEmail('gen-inv')
    const invite = await api.generateLink({ type: 'invite', email: invitee })
    expect(invite.data.user?.invited_at).toBeString()
    expect((await s.req('/verify', { method: 'POST', json: { type: 'invite', token: invite.data.properties!.hashed_token, password: PASSWORD } })).status).toBe(200)

    expect((await api.generateLink({ type: 'recovery', email: freshEmail('nobody') })).error?.status).toBe(404)
    expect((await api.generateLink({ type: 'signup', email: to, password: PASSWORD })).error?.code).toBe('user_already_exists')
    await Bun.sleep(100)
    expect(s.smtp.mailsTo(email)).toHaveLength(0)
    expect(s.smtp.mailsTo(invitee)).toHaveLength(0)
  })

  test('only the key holder makes a service_role key: other secrets, and users\' own tokens, are refused', async () => {
    expect((await admin(s, serviceKey('some-other-secret-long-enough-for-hs256')).listUsers()).error?.status).toBe(401)
    const email = freshEmail('plain')
    const auth = client(s)
    await admin(s).createUser({ email, password: PASSWORD, email_confirm: true, role: 'service_role' })
    const session = (await auth.signInWithPassword({ email, password: PASSWORD })).data.session!
    const asUser = await admin(s, session.access_token).listUsers()
    expect(asUser.error?.status).toBe(401)
  })
})
