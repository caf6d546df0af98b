// Query strings must be UTF-8. fastify's parser keeps an undecodable value as its raw
// percent-escapes, which would then be searched for literally; this check names the
// parameter instead (registered as a preValidation hook on the routes that search).
import type { FastifyRequest } from 'fastify'
import { errors } from '../platform/errors.js'

export function assertUtf8Query (url: string): void {
  const q = url.indexOf('?')
  if (q === -1) return
  for (const pair of url.slice(q + 1).split('&')) {
    const eq = pair.indexOf('=')
    const rawName = eq === -1 ? pair : pair.slice(0, eq)
    let name = rawName
    try { name = decodeURIComponent(rawName.replace(/\+/g, ' ')) } catch { throw errors.BAD_PARAM(rawName.slice(0, 64), 'name is not valid UTF-8') }
    if (eq === -1) continue
    try { decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' ')) } catch { throw errors.BAD_PARAM(name.slice(0, 64), 'is not valid UTF-8') }
  }
}

export async function utf8QueryHook (req: FastifyRequest): Promise<void> {
  assertUtf8Query(req.url)
}
