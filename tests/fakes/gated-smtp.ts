// A real SMTP server for tests of what happens while a mail hangs: it holds a chosen recipient's next mail at DATA
// until the test releases it, then refuses it (550), as a relay that stalls and then fails; every other mail is
// accepted and kept. The interleavings around a failed mail are then exact (tests/takeover-*.test.ts).
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { simpleParser } from 'mailparser'
import type { CapturedMail } from './smtp.ts'

export interface Gated {
  host: string; port: number
  /** Holds the next mail to `to` at DATA until release() is called; it is then refused (550). */
  hold(to: string): { reached: Promise<void>; release(): void }
  count(to: string): number
  waitForMail(to: string, count?: number): Promise<CapturedMail>
  stop(): Promise<void>
}

/** `waitMs`: how long waitForMail waits before it throws. */
export async function startGatedSmtp(waitMs = 3000): Promise<Gated> {
  const mails: CapturedMail[] = []
  const holds = new Map<string, { reached: () => void; gate: Promise<void> }>()
  const server = new SMTPServer({
    secure: false, logger: false, closeTimeout: 200, disabledCommands: ['STARTTLS', 'AUTH'], authOptional: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase())
        const held = to.map((t) => holds.get(t)).find(Boolean)
        if (held) {
          for (const t of to) holds.delete(t)
          held.reached()
          void held.gate.then(() => {
            const err = new Error('Mailbox unavailable (held, then refused)') as Error & { responseCode?: number }
            err.responseCode = 550
            callback(err)
          })
          return
        }
        const raw = Buffer.concat(chunks).toString('utf8')
        void simpleParser(raw).then((p) => {
          mails.push({ from: '', to, subject: p.subject ?? '', html: typeof p.html === 'string' ? p.html : '', text: p.text ?? '', raw, headers: {} })
          callback()
        })
      })
    },
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.server.address() as AddressInfo).port
  const count = (to: string) => mails.filter((m) => m.to.includes(to.toLowerCase())).length
  return {
    host: '127.0.0.1', port, count,
    hold(to) {
      let release!: () => void
      let reached!: () => void
      const gate = new Promise<void>((r) => { release = r })
      const reachedP = new Promise<void>((r) => { reached = r })
      holds.set(to.toLowerCase(), { reached, gate })
      return { reached: reachedP, release }
    },
    async waitForMail(to, n = 1) {
      for (let i = 0; i < waitMs / 20; i++) {
        const got = mails.filter((m) => m.to.includes(to.toLowerCase()))
        if (got.length >= n) return got[got.length - 1] as CapturedMail
        await Bun.sleep(20)
      }
      throw new Error(`no mail ${n} to ${to}`)
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  }
}
