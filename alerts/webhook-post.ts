// One webhook POST attempt: destination check (every resolved address) → node:http(s) request
// pinned to the checked addresses → answer. A plain timer destroys the request at the deadline
// (it covers DNS, connect, headers and body; a timer is not lost to GC the way a combined
// AbortSignal can be on Node 20). Redirects are never followed: a 3xx is a failed attempt.
import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { checkDestination, type DestinationPolicy } from './destination.js'

export type AttemptResult = 'ok' | 'http_error' | 'redirect' | 'refused' | 'timeout' | 'network_error'
export interface Attempt {
  ok: boolean
  status: number
  error: string
  result: AttemptResult
  /** false when another attempt cannot succeed (refused destination, redirect) */
  retry: boolean
}

/** at most this much of a receiver's answer is read; the rest is discarded with the socket */
const maxAnswerBytes = 64 * 1024

// error codes worth showing for a destination the operator allowed; anything else (a non-HTTP
// answer, TLS details) becomes one generic class
const networkCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT'])

export async function postWebhook (rawUrl: string, body: string, opts: { policy: DestinationPolicy, timeoutMs: number, signal?: AbortSignal }): Promise<Attempt> {
  const url = new URL(rawUrl)
  const deadline = Date.now() + opts.timeoutMs
  const timedOut = (): Attempt => ({ ok: false, status: 0, error: `timed out after ${opts.timeoutMs} ms`, result: 'timeout', retry: true })
  let timer: NodeJS.Timeout | undefined
  const lookupTimeout = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), opts.timeoutMs) })
  const verdict = await Promise.race([checkDestination(opts.policy, url), lookupTimeout]).finally(() => clearTimeout(timer))
  if (verdict === 'timeout') return timedOut()
  if (!verdict.ok) {
    // a host that does not resolve may resolve later: retried like a network error
    if (verdict.unresolved === true) return { ok: false, status: 0, error: verdict.reason, result: 'network_error', retry: true }
    return { ok: false, status: 0, error: `refused: ${verdict.reason}`, result: 'refused', retry: false }
  }
  const addresses = verdict.resolved.addresses
  // connect only to what was checked: a second DNS answer cannot point the socket elsewhere
  const lookup: LookupFunction = (_host, options, cb) => {
    if ((options as { all?: boolean }).all === true) (cb as unknown as (e: null, a: typeof addresses) => void)(null, addresses)
    else cb(null, addresses[0].address, addresses[0].family)
  }
  return await new Promise<Attempt>(resolve => {
    let settled = false
    // the socket goes with the attempt, whatever the outcome (agent: false, nothing is reused)
    const finish = (a: Attempt): void => { if (settled) return; settled = true; clearTimeout(hard); opts.signal?.removeEventListener('abort', onAbort); req.destroy(); resolve(a) }
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'sluice-alerts/1' }
    if (url.username !== '' || url.password !== '') headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    const req = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`, method: 'POST', headers, lookup, agent: false
    }, res => {
      const status = res.statusCode ?? 0
      let read = 0
      res.on('data', (c: Buffer) => { read += c.length; if (read > maxAnswerBytes) res.destroy() })
      const done = (): void => {
        if (status >= 200 && status < 300) finish({ ok: true, status, error: '', result: 'ok', retry: false })
        else if (status >= 300 && status < 400) {
          let where = 'no Location'
          try { where = `Location host '${new URL(String(res.headers.location), url).host}'` } catch { /* unparsable Location */ }
          finish({ ok: false, status, error: `redirect not followed (HTTP ${status}, ${where})`, result: 'redirect', retry: false })
        } else finish({ ok: false, status, error: `HTTP ${status}`, result: 'http_error', retry: true })
      }
      res.once('end', done)
      res.once('close', done)
      res.once('error', done)
    })
    const onAbort = (): void => { req.destroy(); finish({ ok: false, status: 0, error: 'stopped', result: 'network_error', retry: false }) }
    const hard = setTimeout(() => { req.destroy(); finish(timedOut()) }, Math.max(1, deadline - Date.now()))
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    req.once('error', (err: Error & { code?: string }) => {
      const code = err.code ?? ''
      finish({ ok: false, status: 0, error: networkCodes.has(code) ? code : 'invalid answer or connection error', result: 'network_error', retry: true })
    })
    req.end(body)
  })
}
