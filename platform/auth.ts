// Bearer-token and Host checks shared by the query API and the roles' --metrics-port.

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 7235). */
export function bearerToken (header: string | undefined): string | null {
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '')
  return m === null ? null : m[1]
}

const loopbackNames = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** The name of a Host header without its port, lower-cased (`[::1]:7070` → `[::1]`). */
export function hostName (host: string): string {
  const h = host.trim().toLowerCase()
  if (h.startsWith('[')) { const end = h.indexOf(']'); return end === -1 ? h : h.slice(0, end + 1) }
  const colon = h.indexOf(':')
  return colon === -1 ? h : h.slice(0, colon)
}

/** A server bound to loopback answers only to loopback names and the configured ones, so a web
 *  page whose name was re-pointed to 127.0.0.1 (DNS rebinding) cannot read it. */
export function hostAllowed (host: string | undefined, allowed: readonly string[]): boolean {
  if (host === undefined) return true // HTTP/1.0 without Host: no browser sends that
  const name = hostName(host)
  return loopbackNames.has(name) || allowed.includes(name)
}
