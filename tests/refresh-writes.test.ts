// What one rotation writes (the spent token and the session's refreshed_at, one
// multi-table UPDATE on MySQL), with rotation on and off, on both databases.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sha256 } from '../lib/crypto.ts'
import { body, startServer, type TestServer } from './harness.ts'
import { newUser, refresh, type Tokens } from './helpers.ts'

for (const rotation of ['true', 'false']) {
  describe(`one refresh's writes (rotation ${rotation})`, () => {
    let s: TestServer
    beforeAll(async () => { s = await startServer({ env: { GOTRUE_MAILER_AUTOCONFIRM: 'true', GOTRUE_SECURITY_REFRESH_TOKEN_ROTATION_ENABLED: rotation } }) })
    afterAll(() => s.stop())
    test('spent token and refreshed_at', async () => {
      const u = await newUser(s)
      const t0 = await u.session()
      s.clock.advance(5)
      const r = await refresh(s, t0.refresh_token)
      expect(r.status).toBe(200)
      const t1 = await body<Tokens>(r)
      const old = await s.db.get<{ family_id: string; revoked: number; revoked_at: string | null; updated_at: string }>('SELECT family_id, revoked, revoked_at, updated_at FROM {refresh_tokens} WHERE token_hash = ?', [sha256(t0.refresh_token)])
      const sess = await s.db.get<{ refreshed_at: string | null }>('SELECT refreshed_at FROM {sessions} WHERE id = ?', [old!.family_id])
      const live = await s.db.all('SELECT id FROM {refresh_tokens} WHERE family_id = ? AND revoked = 0', [old!.family_id])
      expect(sess?.refreshed_at).not.toBeNull()
      if (rotation === 'true') {
        expect(Number(old!.revoked)).toBe(1)
        expect(old!.revoked_at).toBe(String(sess!.refreshed_at))
        expect(old!.updated_at).toBe(String(sess!.refreshed_at))
        expect(live.length).toBe(1)
        expect(t1.refresh_token).not.toBe(t0.refresh_token)
      } else {
        expect(Number(old!.revoked)).toBe(0)
        expect(live.length).toBe(1)
        expect(t1.refresh_token).toBe(t0.refresh_token)
      }
    })
  })
}
