// The page's only way to the server: HTTP requests to the query API. Errors keep the API's
// own message and, for a 400, the parameter it names, so the page can show it by the field.
import type { Bar, Facets, Gaps, Histogram, LogsPage } from './types.js'

export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string, readonly param: string | null) { super(message) }
}

async function errorOf (res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`
  let message = res.statusText
  try {
    const body = await res.json() as { error?: string, message?: string }
    code = body.error ?? code
    message = body.message ?? message
  } catch {}
  const param = /parameter '([^']+)'/.exec(message)?.[1] ?? null
  return new ApiError(res.status, code, message, param)
}

function pause (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('aborted', 'AbortError')) }, { once: true })
  })
}

/** The API runs at most 2 queries of one client at once (SLUICE_MAX_QUERIES_PER_CLIENT, 429
 *  beyond): a page asks for its lines, histogram, facets, gaps and graphs together, so it queues
 *  its own reads to that share instead of being refused. */
const maxInFlight = 2
let inFlight = 0
const waiting: Array<() => void> = []

async function takeTurn (signal?: AbortSignal): Promise<void> {
  if (inFlight < maxInFlight) { inFlight++; return }
  await new Promise<void>((resolve, reject) => {
    const go = (): void => { signal?.removeEventListener('abort', gone); resolve() }
    const gone = (): void => { const i = waiting.indexOf(go); if (i !== -1) waiting.splice(i, 1); reject(new DOMException('aborted', 'AbortError')) }
    waiting.push(go)
    signal?.addEventListener('abort', gone, { once: true })
  })
}

/** a turn is handed straight to the next waiter, so inFlight never exceeds maxInFlight */
function giveTurn (): void {
  const next = waiting.shift()
  if (next !== undefined) next()
  else inFlight--
}

/** A 503 (the API sheds load) or 429 (this client's share is taken, e.g. by another tab) is
 *  retried a few times with a growing pause before it is shown. */
export async function getJson<T> (path: string, params: URLSearchParams, signal?: AbortSignal): Promise<T> {
  const qs = params.toString()
  for (let attempt = 0; ; attempt++) {
    await takeTurn(signal)
    try {
      const res = await fetch(qs === '' ? path : `${path}?${qs}`, { signal, headers: { accept: 'application/json' } })
      if ((res.status === 503 || res.status === 429) && attempt < 5) void res.body?.cancel()
      else if (!res.ok) throw await errorOf(res)
      else return await res.json() as T
    } finally {
      // held until the body is read: the query runs until then
      giveTurn()
    }
    await pause(200 * 2 ** attempt, signal)
  }
}

export async function fetchLogs (params: URLSearchParams, signal?: AbortSignal): Promise<LogsPage> {
  return await getJson<LogsPage>('/v1/logs', params, signal)
}

export async function fetchFacets (params: URLSearchParams, signal?: AbortSignal): Promise<Facets> {
  return await getJson<Facets>('/v1/facets', params, signal)
}

interface HistogramBody { step: number, buckets: Array<{ t: string, counts: Record<string, number> }>, total: number }

/** GET /v1/histogram (counts per bucket by level), as bars with start and end; null when the server has none. */
export async function fetchHistogram (params: URLSearchParams, signal?: AbortSignal): Promise<Histogram | null> {
  let body: HistogramBody
  try {
    body = await getJson<HistogramBody>('/v1/histogram', params, signal)
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
  const stepMs = body.step * 1000
  const bars: Bar[] = body.buckets.map(b => { const start = Date.parse(b.t); return { start, end: start + stepMs, counts: b.counts } })
  return { bars, total: body.total }
}

/** GET /v1/gaps; null when the server has no such route */
export async function fetchGaps (params: URLSearchParams, signal?: AbortSignal): Promise<Gaps | null> {
  try {
    return await getJson<Gaps>('/v1/gaps', params, signal)
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null
    throw err
  }
}

export async function login (token: string): Promise<void> {
  const res = await fetch('/v1/session', { method: 'POST', headers: { 'content-type': 'application/json', 'x-sluice-csrf': '1' }, body: JSON.stringify({ token }) })
  if (!res.ok) throw await errorOf(res)
}

export async function logout (): Promise<void> {
  await fetch('/v1/session', { method: 'DELETE', headers: { 'x-sluice-csrf': '1' } })
}

/** A write with the session cookie: the server also wants `x-sluice-csrf: 1` (a cross-site form cannot send it). */
export async function sendJson<T> (method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-sluice-csrf': '1' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  if (!res.ok) throw await errorOf(res)
  return await res.json() as T
}
