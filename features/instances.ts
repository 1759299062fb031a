// The operator API of multi-instance mode (spec §10.1): /instances create, get, update, delete, and GET / (the
// manifest), behind `Authorization: Bearer <OPERATOR_TOKEN>`. Instance secrets are stored encrypted and never
// returned (the reference echoes the JWT secret); deleting an instance deletes its users, sessions and audit log.
import { Elysia, t } from 'elysia'
import { SECURITY } from '../lib/openapi.ts'
import { jsonBody } from '../lib/body.ts'
import { deepMerge } from '../lib/config.ts'
import { safeEqual } from '../lib/crypto.ts'
import { type Db, dbTime, isoTime, UniqueViolation } from '../lib/db/index.ts'
import type { Deps } from '../lib/deps.ts'
import { badRequest, ErrorBody, internal, notFound, unauthorized } from '../lib/errors.ts'
import { isUuid } from '../lib/ids.ts'
import { assertValidConfig, findInstance, type InstanceRow } from '../lib/instances.ts'
import { encryptionKey, openConfig, redactConfig, sealConfig, withoutReplacedSecrets } from '../lib/sealing.ts'
import { NIL_UUID } from '../lib/users.ts'
import { serviceManifest } from '../lib/version.ts'

const Config = t.Record(t.String(), t.Unknown(), { description: 'per-instance settings (GoTrue §5.3 JSON keys)' })
// `config` is checked in the handler, not by the schema: Elysia's normalize turns a string or an array given for
// a Record into an object of its characters / items (`"abc"` → {"0":"a",…}) instead of refusing it.
export const InstanceBody = t.Object({
  uuid: t.Optional(t.String({ maxLength: 255 })),
  config: t.Optional(t.Unknown({ description: 'per-instance settings (GoTrue §5.3 JSON keys): an object, or null to clear' })),
}, { additionalProperties: true })
export const Instance = t.Object({
  id: t.String(), uuid: t.String(), config: t.Nullable(Config), created_at: t.String(), updated_at: t.String(),
  endpoint: t.Optional(t.String()), state: t.Optional(t.String()),
})
const BEARER = /^[Bb]earer (\S+)$/
type Json = Record<string, unknown>

async function findInstanceByUuid(db: Db, uuid: string): Promise<InstanceRow | null> {
  return db.get<InstanceRow>('SELECT id, uuid, raw_base_config, created_at, updated_at FROM {instances} WHERE uuid = ?', [uuid])
}
async function insertInstance(db: Db, row: { id: string; uuid: string; config: Json; now: Date }): Promise<void> {
  await db.run('INSERT INTO {instances} (id, uuid, raw_base_config, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    [row.id, row.uuid, JSON.stringify(row.config), dbTime(row.now), dbTime(row.now)])
}
async function updateInstanceConfig(db: Db, id: string, config: Json | null, now: Date): Promise<void> {
  await db.run('UPDATE {instances} SET raw_base_config = ?, updated_at = ? WHERE id = ?', [config === null ? null : JSON.stringify(config), dbTime(now), id])
}
/** Removes the instance and everything of its sites (users cascade to identities, sessions and one-time tokens). */
async function deleteInstanceData(db: Db, id: string): Promise<void> {
  await db.run('DELETE FROM {users} WHERE instance_id = ?', [id])
  await db.run('DELETE FROM {audit_log_entries} WHERE instance_id = ?', [id])
  await db.run('DELETE FROM {flow_states} WHERE instance_id = ?', [id])
  await db.run('DELETE FROM {instances} WHERE id = ?', [id])
}

/** The body's config as GoTrue decodes it: an object, null (clear) or absent; anything else is a 400. */
function configOf(body: { config?: unknown }): Json | null | undefined {
  const c = body.config
  if (c === undefined || c === null) return c
  if (typeof c !== 'object' || Array.isArray(c)) throw badRequest('Error decoding params: config must be a JSON object')
  return c as Json
}

export function instances(deps: Deps, opts: { changed(id: string): void }) {
  const { config, db, clock } = deps
  const key = encryptionKey(config)
  const show = (row: InstanceRow, extra: Record<string, string> = {}) => {
    const stored = row.raw_base_config ? (JSON.parse(row.raw_base_config) as Json) : null
    return {
      id: row.id, uuid: row.uuid ?? '', config: stored && redactConfig(stored), created_at: isoTime(row.created_at) as string,
      updated_at: isoTime(row.updated_at) as string, ...extra,
    }
  }
  const load = async (id: string) => {
    if (!isUuid(id)) throw badRequest('Invalid instance ID')
    const row = await findInstance(db, id.toLowerCase())
    if (!row) throw notFound('Instance not found')
    return row
  }
  const manifest = serviceManifest(deps.version)
  return new Elysia({ name: 'instances' })
    .onBeforeHandle(({ headers }) => {
      const m = BEARER.exec(headers.authorization ?? '')
      if (!m?.[1]) throw unauthorized('This endpoint requires a Bearer token')
      if (!safeEqual(m[1], config.operator_token)) throw unauthorized('Request does not include an Operator token')
    })
    .model({ 'instances.body': InstanceBody, 'instances.instance': Instance })
    .get('/', () => manifest, { detail: { summary: 'Manifest (operator)', tags: ['operator'] } })
    .post('/instances', async ({ body, set }) => {
      const uuid = (body.uuid || NIL_UUID).toLowerCase()
      if (!isUuid(uuid)) throw badRequest('Error decoding params: uuid is not a valid UUID')
      const settings = configOf(body) ?? {}
      assertValidConfig(settings)
      const now = clock.now()
      const id = crypto.randomUUID()
      if (await findInstanceByUuid(db, uuid)) throw badRequest('An instance with that UUID already exists')
      await insertInstance(db, { id, uuid, config: sealConfig(key, id, settings), now }).catch((e) => {
        throw e instanceof UniqueViolation ? badRequest('An instance with that UUID already exists') : e
      })
      set.status = 201
      return show((await findInstance(db, id)) as InstanceRow, { endpoint: config.api.endpoint, state: 'active' })
    }, {
      parse: jsonBody('Error decoding params'),
      body: 'instances.body',
      response: { 201: 'instances.instance', 400: ErrorBody, 401: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Create an instance (a site) with its settings', tags: ['operator'], security: SECURITY.operator },
    })
    .get('/instances/:instance_id', async ({ params }) => show(await load(params.instance_id)), {
      response: { 200: 'instances.instance', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: { summary: 'Get an instance (secrets are never returned)', tags: ['operator'], security: SECURITY.operator },
    })
    .put('/instances/:instance_id', async ({ params, body }) => {
      const row = await load(params.instance_id)
      // Deep merge onto the stored settings: absent keys keep their values, present ones (even "") overwrite.
      const patch = configOf(body)
      let next: Json | null = null
      if (patch !== null) {
        // A stored secret that the update sets again need not open (that is how a secret that no longer opens is
        // repaired); any other that does not open stops the update rather than being dropped.
        let stored: Json = {}
        if (row.raw_base_config) {
          try { stored = openConfig(key, row.id, withoutReplacedSecrets(JSON.parse(row.raw_base_config) as Json, patch ?? {})) } catch (e) {
            throw internal('Error loading environment config', e)
          }
        }
        const merged = deepMerge(stored, patch ?? {})
        assertValidConfig(merged)
        next = sealConfig(key, row.id, merged)
      }
      await updateInstanceConfig(db, row.id, next, clock.now())
      opts.changed(row.id)
      return show((await findInstance(db, row.id)) as InstanceRow)
    }, {
      parse: jsonBody('Error decoding params'),
      body: 'instances.body',
      response: { 200: 'instances.instance', 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 422: ErrorBody },
      detail: { summary: 'Update an instance\'s settings (deep merge)', tags: ['operator'], security: SECURITY.operator },
    })
    .delete('/instances/:instance_id', async ({ params, set }) => {
      const row = await load(params.instance_id)
      await db.tx((tx) => deleteInstanceData(tx, row.id))
      opts.changed(row.id)
      set.status = 204
      return new Response(null, { status: 204 })
    }, {
      response: { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody },
      detail: { summary: 'Delete an instance and all of its users', tags: ['operator'], security: SECURITY.operator },
    })
}
