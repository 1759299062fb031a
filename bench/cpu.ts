// How much CPU other work on the machine took during a measurement: the machine's busy time (/proc/stat, steal
// included) minus what the benchmark's own processes used. The machine is shared, so this is reported next to
// every figure, and `settle()` waits (bounded) for a quiet moment before each measurement.
import { readFileSync } from 'node:fs'

const TICK_MS = 10 // USER_HZ is 100 on Linux

/** Busy and steal jiffies of the whole machine (all cores). */
function machine(): { busy: number; steal: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f
  return { busy: user + nice + system + irq + softirq + steal, steal }
}

/** utime + stime of a process (all its threads), in jiffies; 0 once it is gone. */
function procTicks(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return Number(f[11]) + Number(f[12])
  } catch { return 0 }
}

/** utime + stime of several processes together, in jiffies. */
const ticksOf = (pids: number[]): number => pids.reduce((a, pid) => a + procTicks(pid), 0)

export interface CpuWindow { stop(childCpuMs: number): { other: number; steal: number } }

/** Starts a window over `pids` (long-lived servers); stop() takes the CPU ms of short-lived children (wrk). */
export function cpuWindow(pids: number[]): CpuWindow {
  const t0 = performance.now(), m0 = machine(), p0 = ticksOf(pids), self0 = process.cpuUsage()
  return {
    stop(childCpuMs) {
      const wall = performance.now() - t0
      const m1 = machine()
      const ours = (ticksOf(pids) - p0) * TICK_MS
      const self = process.cpuUsage(self0)
      const selfMs = (self.user + self.system) / 1000
      const other = (m1.busy - m0.busy) * TICK_MS - ours - childCpuMs - selfMs
      return { other: Math.max(0, (other / wall) * 100), steal: ((m1.steal - m0.steal) * TICK_MS / wall) * 100 }
    },
  }
}

/** Waits until the machine's busy share over a 500 ms window is under `maxPct` of one core, for at most `maxMs`. */
export async function settle(maxPct: number, maxMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < maxMs) {
    const w = cpuWindow([])
    await Bun.sleep(500)
    if (w.stop(0).other < maxPct) break
  }
  return performance.now() - t0
}

/** Waits until `pids` together use under `maxPct` of one core over a 500 ms window, for at most `maxMs`: a Galera
 *  cluster goes on applying write-sets on its other nodes after a load ends, and would otherwise load the core it
 *  shares with wrk during the next measurement. */
export async function quiet(pids: number[], maxPct: number, maxMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < maxMs) {
    const w0 = performance.now(), c0 = ticksOf(pids)
    await Bun.sleep(500)
    const used = (ticksOf(pids) - c0) * TICK_MS / (performance.now() - w0) * 100
    if (used < maxPct) break
  }
  return performance.now() - t0
}
