// Browser sessions for the Explorer. EventSource cannot send an Authorization header, and a
// token must never travel in a URL, so `POST /v1/session {token}` answers with an HttpOnly,
// SameSite=Strict cookie: `v1.<expiry>.<HMAC-SHA256(token, expiry)>`. Nothing is stored: the
// cookie is checked against the configured tokens, so it survives a restart and dies with its
// token (removed from SLUICE_TOKENS) or at its expiry. GET routes accept the cookie alone;
// other methods also need the `x-sluice-csrf: 1` header, which a cross-site form cannot send.
import crypto from 'node:crypto'
import type { FastifyRequest } from 'fastify'

export const sessionCookie = 'sluice_session'
export const csrfHeader = 'x-sluice-csrf'
/** how long a login lasts, ms */
export const sessionTtlMs = 12 * 3_600_000

function sign (token: string, expiry: number): string {
  return crypto.createHmac('sha256', token).update(`sluice-session:${expiry}`).digest('base64url')
}

export function issueSession (token: string, now = Date.now()): { value: string, header: string } {
  const expiry = now + sessionTtlMs
  const value = `v1.${expiry}.${sign(token, expiry)}`
  return { value, header: `${sessionCookie}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(sessionTtlMs / 1000)}` }
}

export function clearSessionHeader (): string {
  return `${sessionCookie}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`
}

function cookieValue (header: string | undefined): string | null {
  if (header === undefined) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === sessionCookie) return part.slice(eq + 1).trim()
  }
  return null
}

/** True when the cookie was issued for one of `tokens` and has not expired. */
export function validSession (value: string | null, tokens: Iterable<string>, now = Date.now()): boolean {
  if (value === null) return false
  const m = /^v1\.(\d{13})\.([A-Za-z0-9_-]{43})$/.exec(value)
  if (m === null) return false
  const expiry = Number(m[1])
  if (expiry < now) return false
  const got = Buffer.from(m[2])
  let ok = false
  for (const t of tokens) {
    const want = Buffer.from(sign(t, expiry))
    if (want.length === got.length && crypto.timingSafeEqual(want, got)) ok = true
  }
  return ok
}

/** The page's own paths (it routes by path): each serves index.html. */
export const webPages = ['/', '/processes', '/heatmap', '/alerts'] as const

/** Paths anyone may load: the page itself and its assets hold no data (the page asks for a token). */
export function isPublicWebPath (method: string, url: string): boolean {
  const p = url.split('?')[0]
  if (method === 'GET' || method === 'HEAD') return (webPages as readonly string[]).includes(p) || p.startsWith('/ui/')
  return method === 'POST' && p === '/v1/session'
}

/** The auth hook's cookie path: GET/HEAD with a valid session, other methods also with the CSRF header. */
export function sessionAllows (req: FastifyRequest, tokens: Iterable<string>): boolean {
  if (!validSession(cookieValue(req.headers.cookie), tokens)) return false
  if (req.method === 'GET' || req.method === 'HEAD') return true
  return req.headers[csrfHeader] === '1'
}
