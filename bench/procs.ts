// Child processes of the benchmark: every one is tracked and stopped when the run ends, fails or is
// interrupted (SIGINT/SIGTERM), so nothing keeps listening after `bun run bench` returns.
import type { Subprocess } from 'bun'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const live = new Set<Subprocess>()

export interface Proc { name: string; proc: Subprocess; log: string; url: string; pid: number }

/** A free loopback port (bound and released: another process could take it in between, which is unlikely here). */
export function freePort(): number {
  const s = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response() })
  const port = s.port as number
  s.stop(true)
  return port
}

/** Starts `cmd` pinned to `cpus` (taskset -c) with output in dir/<name>.log. */
export function spawn(name: string, cmd: string[], opts: { cpus: string; env: Record<string, string>; cwd: string; dir: string; port: number }): Proc {
  const log = join(opts.dir, `${name}.log`)
  const fd = openSync(log, 'a')
  const proc = Bun.spawn(['taskset', '-c', opts.cpus, ...cmd], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...opts.env },
    stdin: 'ignore', stdout: fd, stderr: fd,
  })
  closeSync(fd)
  live.add(proc)
  void proc.exited.then(() => live.delete(proc))
  return { name, proc, log, url: `http://127.0.0.1:${opts.port}`, pid: proc.pid }
}

export const logTail = (p: Proc, lines = 20): string => {
  try { return readFileSync(p.log, 'utf8').trim().split('\n').slice(-lines).join('\n') } catch { return '' }
}

/** Polls `path` until it answers 200; returns ms from `since` (performance.now()) to the first answer. */
export async function waitReady(p: Proc, path = '/health', timeoutMs = 30_000, since = performance.now(), pollMs = 5): Promise<number> {
  const deadline = since + timeoutMs
  while (performance.now() < deadline) {
    if (p.proc.exitCode !== null) throw new Error(`${p.name} exited with ${p.proc.exitCode} before answering:\n${logTail(p)}`)
    try {
      const res = await fetch(p.url + path, { signal: AbortSignal.timeout(1000) })
      if (res.ok) { await res.arrayBuffer(); return performance.now() - since }
    } catch { /* not listening yet */ }
    await Bun.sleep(pollMs)
  }
  throw new Error(`${p.name} did not answer ${path} within ${timeoutMs} ms:\n${logTail(p)}`)
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(p: Proc | Subprocess, graceMs = 3000): Promise<void> {
  const proc = 'proc' in p ? p.proc : p
  if (proc.exitCode !== null || proc.signalCode !== null) return
  proc.kill('SIGTERM')
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs)
  await proc.exited
  clearTimeout(timer)
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => stop(p)))
}

/** Registers the last-resort cleanup: on SIGINT/SIGTERM stop every child and exit; on exit SIGKILL stragglers. */
export function installCleanup(extra: () => Promise<void>): void {
  let stopping = false
  const onSignal = (sig: string) => {
    if (stopping) return
    stopping = true
    console.error(`\nbench: ${sig}: stopping everything it started`)
    void stopAll().then(extra).finally(() => process.exit(130))
  }
  process.on('SIGINT', () => onSignal('SIGINT'))
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('exit', () => { for (const p of live) p.kill('SIGKILL') })
}

/** Resident set size in MB from /proc/<pid>/status (VmRSS, or another of its kB lines: RssAnon, RssFile). */
export function rssMb(pid: number, field = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

/** MB of a process's resident pages mapped from one file (the runtime's own executable, say), from smaps. */
export function rssOfFileMb(pid: number, file: string): number {
  let kb = 0, inFile = false
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inFile = line.trimEnd().endsWith(file)
    else if (inFile && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)?.[1] ?? 0)
  }
  return kb / 1024
}

/** Runs a short command to completion (bounded), returning its output. */
export async function run(cmd: string[], opts: { timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number; out: string; err: string; cpuMs: number }> {
  const proc = Bun.spawn(cmd, { cwd: opts.cwd, env: opts.env ? { ...process.env, ...opts.env } : undefined, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' })
  live.add(proc)
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  clearTimeout(timer)
  live.delete(proc)
  const ru = proc.resourceUsage()
  return { code, out, err, cpuMs: ru ? Number(ru.cpuTime.user + ru.cpuTime.system) / 1000 : 0 }
}
