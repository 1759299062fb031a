// The MySQL side of `--mysql`: the server version for the report, and dropping the run's table namespace.
import mysql from 'mysql2/promise'

export const connect = (url: string) => mysql.createConnection({ uri: url, multipleStatements: false })

export async function mysqlVersion(url: string): Promise<string> {
  const c = await connect(url)
  try {
    const [rows] = await c.query('SELECT VERSION() AS v')
    return `MySQL/MariaDB ${(rows as { v: string }[])[0]?.v ?? '?'}`
  } finally { await c.end() }
}

/** Drops every table named `<namespace>_…` in the URL's database. */
export async function dropNamespace(url: string, namespace: string): Promise<void> {
  const c = await connect(url)
  try {
    const [rows] = await c.query('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?', [`${namespace}\\_%`])
    await c.query('SET FOREIGN_KEY_CHECKS = 0')
    for (const { t } of rows as { t: string }[]) await c.query(`DROP TABLE IF EXISTS \`${t}\``)
  } finally { await c.end() }
}

/** Sets innodb_buffer_pool_size (bytes); with `onlyIfSmaller`, only when the current one is smaller. Returns the
 *  size before the change, or null when nothing was changed. MariaDB resizes it online, in the background. */
export const setBufferPool = (url: string, bytes: number, onlyIfSmaller = false) => setInnodbSize(url, 'innodb_buffer_pool_size', bytes, onlyIfSmaller)
/** The same for the redo log, innodb_log_file_size (dynamic since MariaDB 10.9; MySQL refuses it, and then this
 *  throws). */
export const setRedoLog = (url: string, bytes: number, onlyIfSmaller = false) => setInnodbSize(url, 'innodb_log_file_size', bytes, onlyIfSmaller)

/** InnoDB's log sequence number: bytes of redo written since the server's start. */
export async function redoLsn(url: string): Promise<number> {
  const c = await connect(url)
  try {
    const [rows] = await c.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_lsn_current', 'Innodb_redo_log_current_lsn')")
    return Number((rows as { Value: string }[])[0]?.Value ?? Number.NaN)
  } finally { await c.end() }
}

type InnodbSize = 'innodb_buffer_pool_size' | 'innodb_log_file_size'
/** A numeric global variable's value, read over an open connection. */
const globalNumber = async (c: Awaited<ReturnType<typeof connect>>, variable: InnodbSize): Promise<number> =>
  Number(((await c.query(`SELECT @@${variable} AS b`))[0] as { b: number | string }[])[0]?.b ?? 0)

async function setInnodbSize(url: string, variable: InnodbSize, bytes: number, onlyIfSmaller: boolean): Promise<number | null> {
  const c = await connect(url)
  try {
    const read = () => globalNumber(c, variable)
    const before = await read()
    if (onlyIfSmaller && before >= bytes) return null
    if (before === bytes) return null
    await c.query(`SET GLOBAL ${variable} = ?`, [bytes])
    // The resize runs in the background: wait (bounded) until the new size is in effect.
    for (let i = 0; i < 100 && Math.abs((await read()) - bytes) > bytes / 8; i++) await Bun.sleep(100)
    return before
  } finally { await c.end() }
}

/** InnoDB's checkpoint age (redo written since the last checkpoint) and the age at which InnoDB makes writers wait
 *  for page flushing (Innodb_checkpoint_max_age), in bytes, read over one connection kept open for sampling. */
export async function checkpointReader(url: string): Promise<{ read: () => Promise<{ age: number; max: number }>; close: () => Promise<void> }> {
  const c = await connect(url)
  return {
    read: async () => {
      const [rows] = await c.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_checkpoint_age', 'Innodb_checkpoint_max_age')")
      const v = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name.toLowerCase(), Number(r.Value)]))
      return { age: v.innodb_checkpoint_age ?? Number.NaN, max: v.innodb_checkpoint_max_age ?? Number.NaN }
    },
    close: () => c.end(),
  }
}

/** innodb_max_dirty_pages_pct and its low-water mark (MariaDB lowers the mark with the percentage), read before
 *  flushDirtyPages changes them so that the caller can put them back, on failure and on Ctrl-C too. */
export interface DirtyPages { pct: number; lwm: number }
export async function dirtyPagesSettings(url: string): Promise<DirtyPages> {
  const c = await connect(url)
  try {
    const [rows] = await c.query('SELECT @@innodb_max_dirty_pages_pct AS pct, @@innodb_max_dirty_pages_pct_lwm AS lwm')
    const r = (rows as { pct: number | string; lwm: number | string }[])[0]
    return { pct: Number(r?.pct ?? 90), lwm: Number(r?.lwm ?? 0) }
  } finally { await c.end() }
}
export async function setDirtyPages(url: string, s: DirtyPages): Promise<void> {
  const c = await connect(url)
  try {
    // The percentage first: the mark may not exceed it.
    await c.query('SET GLOBAL innodb_max_dirty_pages_pct = ?', [s.pct])
    await c.query('SET GLOBAL innodb_max_dirty_pages_pct_lwm = ?', [s.lwm])
  } finally { await c.end() }
}

/** Has InnoDB flush every dirty page (innodb_max_dirty_pages_pct 0) until the checkpoint age is under `belowBytes`
 *  or `timeoutMs` has passed, then puts `restore` back: a measurement then starts with a near-empty redo log,
 *  whatever the loads before it left behind. */
export async function flushDirtyPages(url: string, restore: DirtyPages, belowBytes: number, timeoutMs: number): Promise<void> {
  const checkpoint = await checkpointReader(url)
  try {
    await setDirtyPages(url, { pct: 0, lwm: 0 })
    for (const t0 = performance.now(); (await checkpoint.read()).age >= belowBytes && performance.now() - t0 < timeoutMs;) await Bun.sleep(250)
  } finally {
    await checkpoint.close().catch(() => {})
    await setDirtyPages(url, restore)
  }
}

/** The redo log size in effect (a resize may still be running when setRedoLog gives up waiting). */
export async function redoLogSize(url: string): Promise<number> {
  const c = await connect(url)
  try { return await globalNumber(c, 'innodb_log_file_size') } finally { await c.end() }
}
