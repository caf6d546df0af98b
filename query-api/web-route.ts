// The Explorer (web/, built into dist/web) served at `/`, and its login route.
//   GET /            index.html (no cache; a strict Content-Security-Policy: nothing from elsewhere)
//   GET /processes, /heatmap, /alerts   the same index.html (the page routes by path)
//   GET /ui/*        the bundle (main.js, main.css)
//   POST /v1/session {token} → session cookie (see web-session.ts); DELETE /v1/session logs out
import path from 'node:path'
import fs from 'node:fs'
import crypto from 'node:crypto'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { errors } from '../platform/errors.js'
import { clearSessionHeader, issueSession, webPages } from './web-session.js'

/** dist/web: beside dist/query-api when built, under the repository when run from source (tests) */
const here = path.dirname(fileURLToPath(import.meta.url))
export const webRoot = path.basename(path.dirname(here)) === 'dist' ? path.resolve(here, '..', 'web') : path.resolve(here, '..', 'dist', 'web')

const csp = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

const SessionBody = Type.Object({ token: Type.String({ minLength: 1, maxLength: 4096 }) }, { additionalProperties: false })

export interface WebRouteOptions { tokens: string[] }

export async function webRoute (app: FastifyInstance, opts: WebRouteOptions): Promise<void> {
  const built = fs.existsSync(path.join(webRoot, 'index.html'))
  if (built) {
    await app.register(fastifyStatic, { root: webRoot, prefix: '/ui/', index: false, cacheControl: true, maxAge: 0 })
    for (const page of webPages) {
      app.get(page, { schema: { hide: true } }, async (_req, reply) => {
        reply.header('content-security-policy', csp).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer')
        return reply.sendFile('index.html', { maxAge: 0 })
      })
    }
  } else {
    for (const page of webPages) app.get(page, { schema: { hide: true } }, async (_req, reply) => reply.code(503).type('text/plain').send('the Explorer is not built: run `npm run build`\n'))
  }

  app.post<{ Body: Static<typeof SessionBody> }>('/v1/session', {
    schema: { summary: 'Log the browser in: sets an HttpOnly session cookie for a token of SLUICE_TOKENS', body: SessionBody }
  }, async (req, reply) => {
    if (opts.tokens.length === 0) return { auth: false }
    const got = crypto.createHash('sha256').update(req.body.token).digest()
    const known = opts.tokens.find(t => crypto.timingSafeEqual(crypto.createHash('sha256').update(t).digest(), got))
    if (known === undefined) throw errors.UNAUTHORIZED()
    reply.header('set-cookie', issueSession(known).header)
    return { auth: true }
  })
  app.delete('/v1/session', { schema: { summary: 'Log the browser out (clears the session cookie)' } }, async (_req, reply) => {
    reply.header('set-cookie', clearSessionHeader())
    return { auth: false }
  })
}
