// Two `gotrue serve` processes on one port: the second must fail at once (exit 1, one line naming the port)
// instead of sharing the port with the first (SO_REUSEPORT would let the kernel split the traffic between them).
// The first one's start line states where it really listens: every interface, 0.0.0.0.
import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const BIN = join(import.meta.dir, '..', 'bin', 'gotrue.ts')
const dir = mkdtempSync(join(tmpdir(), 'gotrue-port-'))
const env = {
  PATH: process.env.PATH ?? '', HOME: dir, GOTRUE_DB_DRIVER: 'sqlite', DATABASE_URL: join(dir, 'gotrue.db'),
  GOTRUE_DB_AUTOMIGRATE: 'true', GOTRUE_JWT_SECRET: 'port-test-secret-long-enough-for-hs256', GOTRUE_LOG_LEVEL: 'info',
}
let first: Bun.Subprocess<'ignore', 'ignore', 'pipe'> | undefined
afterAll(async () => {
  if (first) { first.kill('SIGTERM'); await first.exited }
  rmSync(dir, { recursive: true, force: true })
})

/** Reads stderr until `re` matches (or the stream ends). */
async function waitFor(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<{ text: string; match: RegExpExecArray | null }> {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let text = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return { text, match: null }
    text += decoder.decode(value, { stream: true })
    const match = re.exec(text)
    if (match) { reader.releaseLock(); return { text, match } }
  }
}

test('a second serve on a port in use exits 1 at once with "port N is already in use"', async () => {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  first = Bun.spawn(['bun', BIN, 'serve'], { cwd: dir, env: { ...env, GOTRUE_API_PORT: String(port) }, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' })
  const started = await waitFor(first.stderr, /GoTrue API started on: ([^"]+)"/)
  expect(started.match?.[1]).toBe(`0.0.0.0:${port}`)
  expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200)

  const t0 = Date.now()
  const second = Bun.spawn(['bun', BIN, 'serve'], { cwd: dir, env: { ...env, GOTRUE_API_PORT: String(port) }, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe' })
  const [err, code] = await Promise.all([new Response(second.stderr).text(), second.exited])
  expect(code).toBe(1)
  expect(err.trim().split('\n').at(-1)).toBe(`gotrue: port ${port} is already in use`)
  expect(Date.now() - t0).toBeLessThan(5000)
  // The first server still answers, alone.
  expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200)
})
