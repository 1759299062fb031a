// Medians over rounds, ratios, the performance targets, and the markdown of bench/RESULTS.md.

/** `other`: CPU that other work on the machine used during the measurement, in % of one core. */
export interface Sample { rps: number; p50: number | null; p99: number | null; failures: number; note?: string; other?: number }
export interface Row {
  id: string
  label: string
  cores: string
  samples: Sample[]
  /** The project row this row is the ceiling or peer of (ratio = project ÷ this row, in req/s). */
  vs?: string
  project?: boolean
}
export interface Section { title: string; blurb: string; rows: Row[] }
/** `informational`: a figure reported without a target (met stays null). */
export interface Target { name: string; figure: string; required: string; met: boolean | null; why?: string; informational?: boolean }

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return NaN
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

export interface Summary { rps: number; p50: number; p99: number; failures: number; rounds: number; spread: string; other: number }
export function summarize(row: Row | undefined): Summary | null {
  if (!row || !row.samples.length) return null
  const rps = row.samples.map((s) => s.rps)
  return {
    rps: median(rps),
    p50: median(row.samples.map((s) => s.p50 ?? NaN)),
    p99: median(row.samples.map((s) => s.p99 ?? NaN)),
    failures: row.samples.reduce((a, s) => a + s.failures, 0),
    rounds: row.samples.length,
    other: median(row.samples.map((s) => s.other ?? NaN)),
    spread: rps.length > 1 ? `${fmtRps(Math.min(...rps))}–${fmtRps(Math.max(...rps))}` : '',
  }
}

export const fmtRps = (x: number): string => (!Number.isFinite(x) ? 'n/a' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1))
export const fmtMs = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1))
export const fmtRatio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : 'n/a')

export function ratio(rows: Row[], projectId: string, otherId: string): number {
  const a = summarize(rows.find((r) => r.id === projectId)), b = summarize(rows.find((r) => r.id === otherId))
  return a && b ? a.rps / b.rps : NaN
}

export function sectionTable(section: Section, all: Row[]): string {
  const lines = [
    `### ${section.title}`, '', section.blurb, '',
    '| target | cores | req/s (median) | rounds min–max | p50 ms | p99 ms | failures | other load | project ÷ this |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|',
  ]
  for (const row of section.rows) {
    const s = summarize(row)
    if (!s) { lines.push(`| ${row.label} | ${row.cores} | not measured | | | | | | |`); continue }
    const r = row.vs ? fmtRatio(ratio(all, row.vs, row.id)) : row.project ? '(project)' : ''
    lines.push(`| ${row.project ? `**${row.label}**` : row.label} | ${row.cores} | ${fmtRps(s.rps)} | ${s.spread} | ${fmtMs(s.p50)} | ${fmtMs(s.p99)} | ${s.failures} | ${Number.isFinite(s.other) ? `${s.other.toFixed(0)}%` : '–'} | ${r} |`)
  }
  return lines.join('\n')
}

export function targetsTable(targets: Target[]): string {
  const mark = (t: Target) => (t.informational ? 'informational' : t.met === null ? '– not measured' : t.met ? '✅ met' : '❌ not met')
  return ['| target | figure | required | result |', '|---|---|---|---|',
    ...targets.map((t) => `| ${t.name} | ${t.figure} | ${t.required} | ${mark(t)}${t.why ? ` (${t.why})` : ''} |`)].join('\n')
}
