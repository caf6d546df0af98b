// The Explorer's session cookie: signed with the token, never containing it, expiring,
// and useless to a server that does not hold the token.
import { describe, expect, it } from 'vitest'
import { issueSession, sessionTtlMs, validSession } from '../../query-api/web-session.js'

describe('web session cookie', () => {
  const now = Date.parse('2026-12-01T00:00:00Z')
  const { value } = issueSession('tok-1', now)

  it('is valid for its token until it expires', () => {
    expect(value).toMatch(/^v1\.\d{13}\.[A-Za-z0-9_-]{43}$/)
    expect(value).not.toContain('tok-1')
    expect(validSession(value, ['other', 'tok-1'], now)).toBe(true)
    expect(validSession(value, ['tok-1'], now + sessionTtlMs)).toBe(true)
    expect(validSession(value, ['tok-1'], now + sessionTtlMs + 1)).toBe(false)
  })

  it('is refused when forged, stretched or issued for another token', () => {
    expect(validSession(value, ['tok-2'], now)).toBe(false)
    expect(validSession(null, ['tok-1'], now)).toBe(false)
    const [, expiry, mac] = value.split('.')
    expect(validSession(`v1.${Number(expiry) + 86_400_000}.${mac}`, ['tok-1'], now)).toBe(false)
    expect(validSession(`v1.${expiry}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, ['tok-1'], now)).toBe(false)
    expect(validSession(`v2.${expiry}.${mac}`, ['tok-1'], now)).toBe(false)
  })
})
