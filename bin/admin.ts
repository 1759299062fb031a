// `gotrue admin …`: user administration from a shell. Exit codes scripts can trust: 0 done, 1 failed (not
// found, duplicate, bad data), 2 bad arguments. Writes go through the same lib/ statements as the API.
import type { Config } from '../lib/config.ts'
import { PasswordHasher } from '../lib/crypto.ts'
import { writeAudit } from '../lib/audit.ts'
import { type Db, openDb } from '../lib/db/index.ts'
import { isUuid } from '../lib/ids.ts'
import { countExportRecords, countExportRows, exportDocument, exportRows, importUsers, readExport } from '../lib/transfer.ts'
import { deleteUser, emailProblem, findUserByEmail, findUserById, insertUser, NIL_UUID, passwordProblem, toUser, updateUser } from '../lib/users.ts'

export const ADMIN_HELP = `Usage: gotrue admin <verb> [flags]

Verbs:
  createuser <email> <password> [role]   create a user (fails if the email exists in the audience)
      --confirm            mark the email confirmed (also implied by GOTRUE_MAILER_AUTOCONFIRM)
      --admin              role = GOTRUE_JWT_ADMIN_GROUP_NAME (unless a role is given)
      --superadmin         super admin (admin of every audience)
  deleteuser <email|id>                  delete a user by email (in the audience) or id
  list [--json]                          list users (email, id, confirmed, role, aud), without password hashes
  export [FILE]                          write every user with password hashes (stdout without FILE)
  import FILE                            load an export (ours, the API's, or a JSON array of rows of the
                                         reference's users table), idempotently; exit 1 if any record failed
      --allow-super-admin  keep is_super_admin from the file (without it such a record is refused)

Flags for every verb:
  -a, --aud AUD            audience (default GOTRUE_JWT_AUD; list and export: every audience unless given)
  -i, --instance_id UUID   instance (default the single-instance nil UUID)
  -h, --help               this text`

export class UsageError extends Error {}

interface Parsed { positional: string[]; flags: Set<string>; aud?: string; instance?: string }
function parse(args: string[]): Parsed {
  const out: Parsed = { positional: [], flags: new Set() }
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string
    const value = () => {
      const v = args[++i]
      if (v === undefined || v.startsWith('-')) throw new UsageError(`${a} needs a value`)
      return v
    }
    if (a === '-a' || a === '--aud') out.aud = value()
    else if (a === '-i' || a === '--instance_id') out.instance = value()
    else if (/^--(confirm|admin|superadmin|allow-super-admin|json|help)$/.test(a) || a === '-h') out.flags.add(a === '-h' ? '--help' : a)
    else if (a.startsWith('-')) throw new UsageError(`unknown flag ${a}`)
    else out.positional.push(a)
  }
  return out
}

const say = (s: string) => process.stdout.write(`${s}\n`)

export async function admin(config: Config, args: string[]): Promise<number> {
  const verb = args[0]
  const p = parse(args.slice(1))
  if (!verb) { process.stderr.write(`${ADMIN_HELP}\n`); return 2 }
  if (['help', '--help', '-h'].includes(verb) || p.flags.has('--help')) { say(ADMIN_HELP); return 0 }
  const instanceId = p.instance ?? NIL_UUID
  if (!isUuid(instanceId)) throw new UsageError(`--instance_id must be a UUID, got ${JSON.stringify(instanceId)}`)
  const aud = p.aud ?? config.jwt.aud
  const db = await openDb(config)
  try {
    switch (verb) {
      case 'createuser': return await createUser(config, db, p, instanceId, aud)
      case 'deleteuser': {
        const [who] = p.positional
        if (!who || p.positional.length > 1) throw new UsageError('deleteuser needs exactly one <email|id>')
        const user = (await findUserByEmail(db, instanceId, aud, who)) ?? (isUuid(who) ? await findUserById(db, instanceId, who) : null)
        if (!user) { process.stderr.write(`gotrue: no user ${JSON.stringify(who)} in audience ${JSON.stringify(aud)}\n`); return 1 }
        await db.tx(async (tx) => {
          await writeAudit(tx, instanceId, { id: NIL_UUID, email: 'cli@localhost' }, 'user_deleted', new Date(), { user_id: user.id, user_email: user.email })
          await deleteUser(tx, user.id)
        })
        say(`deleted ${user.email} (${user.id})`)
        return 0
      }
      case 'list': {
        // Never the password hashes (that is what `export` is for); --json is {"users":[…],"aud":…} like the API.
        const json = p.flags.has('--json')
        if (json) process.stdout.write('{"users":[\n')
        let first = true
        for await (const row of exportRows(db, instanceId, p.aud)) {
          const u = toUser(row)
          if (json) process.stdout.write(`${first ? '' : ',\n'}${JSON.stringify(u)}`)
          else say(`${u.email}\t${u.id}\t${u.confirmed_at ? 'confirmed' : 'unconfirmed'}\t${u.role}\t${u.aud}`)
          first = false
        }
        if (json) process.stdout.write(`\n],"aud":${JSON.stringify(p.aud ?? '')}}\n`)
        return 0
      }
      case 'export': {
        const [file] = p.positional
        const sink = file ? Bun.file(file).writer() : null
        // Progress only for a person watching (stderr is a terminal), never in a pipe or a log file.
        const total = process.stderr.isTTY ? await countExportRows(db, instanceId, p.aud) : 0
        const progress = (n: number) => process.stderr.write(`\rexporting… ${n} of ${total} users`)
        let n = -1 // the first chunk is the document's opening
        for await (const chunk of exportDocument(db, instanceId, p.aud)) {
          if (sink) sink.write(chunk)
          else await new Promise<void>((r) => process.stdout.write(chunk, () => r()))
          if (total && ++n > 0 && n <= total && (n === 1 || n % 100 === 0)) progress(n)
        }
        if (total) { progress(total); process.stderr.write('\n') }
        if (sink) { await sink.end(); process.stderr.write(`exported to ${file}\n`) }
        return 0
      }
      case 'import': {
        const [file] = p.positional
        if (!file) throw new UsageError('import needs a FILE')
        if (!(await Bun.file(file).exists())) { process.stderr.write(`gotrue: no such file ${file}\n`); return 1 }
        // Progress only for a person watching (stderr is a terminal), never in a pipe or a log file.
        const tty = process.stderr.isTTY
        const expected = tty ? await countExportRecords(file) : 0
        const progress = (n: number) => process.stderr.write(`\rimporting… ${n} of ${expected} users`)
        const r = await importUsers(db, readExport(file), {
          instanceId, aud, now: new Date(), allowSuperAdmin: p.flags.has('--allow-super-admin'), bcrypt: config,
          onProgress: tty ? (n) => { if (n === 1 || n % 100 === 0) progress(n) } : undefined,
        })
        const total = r.inserted + r.updated + r.unchanged + r.failed.length
        if (tty) { progress(total); process.stderr.write('\n') }
        say(`imported: ${r.inserted} new, ${r.updated} updated, ${r.unchanged} unchanged, ${r.failed.length} failed`)
        for (const f of r.failed.slice(0, 20)) {
          const who = [f.email && JSON.stringify(f.email), f.id && `id ${f.id}`].filter(Boolean).join(', ')
          process.stderr.write(`  user #${f.line}${who ? ` (${who})` : ''}: ${f.error}\n`)
        }
        if (r.failed.length > 20) process.stderr.write(`  … and ${r.failed.length - 20} more\n`)
        return r.failed.length ? 1 : 0
      }
      default:
        throw new UsageError(`unknown admin verb "${verb}"`)
    }
  } finally { await db.close() }
}

async function createUser(config: Config, db: Db, p: Parsed, instanceId: string, aud: string): Promise<number> {
  const [email, password, role] = p.positional
  if (!email || !password || p.positional.length > 3) throw new UsageError('createuser needs <email> <password> [role]')
  const problem = emailProblem(email)
  if (problem) { process.stderr.write(`gotrue: invalid email: ${problem}\n`); return 1 }
  const weak = passwordProblem(config.password.min_length, password)
  if (weak) { process.stderr.write(`gotrue: ${weak}\n`); return 1 }
  if (await findUserByEmail(db, instanceId, aud, email)) { process.stderr.write(`gotrue: a user with email ${email} already exists in audience ${JSON.stringify(aud)}\n`); return 1 }
  const now = new Date()
  const hash = await new PasswordHasher(config.bcrypt_cost).hash(password)
  const confirm = p.flags.has('--confirm') || config.mailer.autoconfirm
  let user = await insertUser(db, {
    instanceId, aud, role: role ?? (p.flags.has('--admin') ? config.jwt.admin_group_name : config.jwt.default_group_name), email,
    encryptedPassword: hash, appMetadata: { provider: 'email' }, userMetadata: {}, confirmedAt: confirm ? now : null, now,
  })
  if (p.flags.has('--superadmin')) user = await updateUser(db, user, { is_super_admin: 1 }, now)
  say(JSON.stringify(toUser(user)))
  return 0
}
