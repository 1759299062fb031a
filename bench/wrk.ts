// wrk: installed from the Debian package when missing, run pinned to core 1 with a Lua script from bench/lua,
// its result read from the JSON line the scripts' done() prints.
import { join } from 'node:path'
import { run } from './procs.ts'

export interface WrkResult {
  requests: number
  duration_us: number
  rps: number
  p50_us: number
  p90_us: number
  p99_us: number
  max_us: number
  errors: { connect: number; read: number; write: number; timeout: number; status: number }
  statuses: Record<string, number>
  extra: Record<string, number>
  /** CPU time wrk itself used (ms), for the other-load figure. */
  cpuMs: number
}

export async function ensureWrk(): Promise<string> {
  const have = Bun.which('wrk')
  if (have) return have
  console.log('bench: wrk not found; installing the Debian package: apt-get update && apt-get install -y wrk')
  const sudo = process.getuid?.() === 0 ? [] : ['sudo']
  for (const cmd of [[...sudo, 'apt-get', 'update'], [...sudo, 'apt-get', 'install', '-y', 'wrk']]) {
    console.log(`bench: $ ${cmd.join(' ')}`)
    const r = await run(cmd, { timeoutMs: 300_000 })
    if (r.code !== 0) throw new Error(`\`${cmd.join(' ')}\` failed (${r.code}):\n${r.err.slice(-2000)}`)
  }
  const path = Bun.which('wrk')
  if (!path) throw new Error('wrk is still not on PATH after apt-get install')
  return path
}

export interface WrkOptions {
  url: string
  script: string              // file name in bench/lua
  args?: Record<string, string | number>
  threads: number
  connections: number
  seconds: number
  cpus?: string               // taskset -c (default: core 1)
}

export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const args = Object.entries(o.args ?? {}).map(([k, v]) => `${k}=${v}`)
  const cmd = ['taskset', '-c', o.cpus ?? '1', 'wrk', `-t${o.threads}`, `-c${o.connections}`, `-d${o.seconds}s`, '--timeout', '10s', '--latency',
    '-s', join(import.meta.dir, 'lua', o.script), o.url, '--', ...args]
  const r = await run(cmd, { timeoutMs: (o.seconds + 30) * 1000 })
  const line = r.out.split('\n').find((l) => l.startsWith('BENCH_JSON '))
  if (r.code !== 0 || !line) throw new Error(`wrk failed (${r.code}): ${cmd.join(' ')}\n${r.out.slice(-1500)}\n${r.err.slice(-1500)}`)
  return { ...(JSON.parse(line.slice('BENCH_JSON '.length)) as WrkResult), cpuMs: r.cpuMs }
}

/** Non-2xx responses plus socket errors of a run. */
export const failures = (r: WrkResult): number => r.errors.status + r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout
