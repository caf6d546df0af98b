// Who a request counts against for the per-client limits: its bearer token when the server
// has tokens (several machines may share one), else its remote address.
import crypto from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { bearerToken } from '../platform/auth.js'

export function clientKey (req: FastifyRequest): string {
  const tok = bearerToken(req.headers.authorization)
  // the token itself is not kept in the limiters' maps
  if (tok !== null) return `token:${crypto.createHash('sha256').update(tok).digest('hex').slice(0, 16)}`
  return `addr:${req.ip}`
}

/** Counts held per client, for a per-client cap beside a global one. */
export interface ClientCounts { held (key: string): number, take (key: string): void, give (key: string): void }

export function createClientCounts (): ClientCounts {
  const m = new Map<string, number>()
  return {
    held: key => m.get(key) ?? 0,
    take (key) { m.set(key, (m.get(key) ?? 0) + 1) },
    give (key) { const n = (m.get(key) ?? 0) - 1; if (n <= 0) m.delete(key); else m.set(key, n) }
  }
}
