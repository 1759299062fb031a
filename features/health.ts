// GET /health: the service's name, version and description (also what the operator's `GET /` answers).
import { Elysia, t } from 'elysia'
import type { Deps } from '../lib/deps.ts'
import { ErrorBody } from '../lib/errors.ts'

export const HealthBody = t.Object({ description: t.String(), name: t.String(), version: t.String() })

export function health(deps: Deps) {
  const body = { description: 'GoTrue is a user registration and authentication API', name: 'GoTrue', version: deps.version }
  return new Elysia({ name: 'health' })
    .model({ 'health.response': HealthBody })
    .get('/health', () => body, {
      response: { 200: 'health.response', 503: ErrorBody },
      detail: { summary: 'Service name and version', tags: ['public'] },
    })
}
