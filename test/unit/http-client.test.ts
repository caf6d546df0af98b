// cli/http-client.ts: where the CLI's client commands reach the API, and the token they send.
import { describe, expect, it } from 'vitest'
import { baseUrl, jsonHeaders } from '../../cli/http-client.js'

describe('cli http client', () => {
  it('SLUICE_URL without its trailing slash, else loopback on SLUICE_PORT, else 7070', () => {
    expect(baseUrl({ SLUICE_URL: 'https://logs.example:8443/', SLUICE_PORT: '1' })).toBe('https://logs.example:8443')
    expect(baseUrl({ SLUICE_PORT: '9090' })).toBe('http://127.0.0.1:9090')
    expect(baseUrl({})).toBe('http://127.0.0.1:7070')
  })

  it('asks for JSON and sends SLUICE_TOKEN as a bearer token when set', () => {
    expect(jsonHeaders({})).toEqual({ accept: 'application/json' })
    expect(jsonHeaders({ SLUICE_TOKEN: 't0k' })).toEqual({ accept: 'application/json', authorization: 'Bearer t0k' })
  })
})
