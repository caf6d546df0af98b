// Server-Sent Events over fetch(), resuming with Last-Event-ID after *any* interruption.
// EventSource resends Last-Event-ID only on its own reconnects, and gives up for good on a
// non-200 answer — e.g. the 503 a server sends while it restarts — after which a new
// EventSource cannot say where to resume. Here every retry carries the last id seen, so a
// restart of the server loses and repeats nothing. Same-origin fetch sends the session cookie.

export interface SseHandlers {
  onEvent: (name: string, data: string) => void
  onStatus: (status: 'live' | 'reconnecting' | 'unauthorized', why?: string) => void
  /** the server cannot resume from the last id (410): the stream goes on from the oldest position it offers */
  onGap: (why: string) => void
}

export function followSse (url: string, h: SseHandlers): () => void {
  const ac = new AbortController()
  let lastId = ''
  let retryMs = 1000
  const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

  const once = async (): Promise<void> => {
    const headers: Record<string, string> = { accept: 'text/event-stream' }
    if (lastId !== '') headers['last-event-id'] = lastId
    const res = await fetch(url, { headers, signal: ac.signal, cache: 'no-store' })
    if (res.status === 401) { h.onStatus('unauthorized'); ac.abort(); return }
    if (res.status === 410) {
      let body: { oldest?: unknown, message?: unknown } = {}
      try { body = await res.json() as typeof body } catch {}
      lastId = typeof body.oldest === 'string' ? body.oldest : ''
      h.onGap(typeof body.message === 'string' ? body.message : 'the server no longer holds the position to resume from')
      return
    }
    if (!res.ok || res.body === null) {
      let why = `HTTP ${res.status}`
      try { why = ((await res.json()) as { message?: string }).message ?? why } catch {}
      h.onStatus('reconnecting', why)
      const after = Number(res.headers.get('retry-after'))
      if (after > 0) await sleep(Math.min(after, 30) * 1000)
      return
    }
    h.onStatus('live')
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buf = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      // one pass over each chunk: line ends normalised, then every complete event block handled
      buf += value.includes('\r') ? value.replace(/\r\n?/g, '\n') : value
      let start = 0
      for (let end = buf.indexOf('\n\n'); end !== -1; end = buf.indexOf('\n\n', start)) {
        dispatch(buf.slice(start, end))
        start = end + 2
      }
      buf = buf.slice(start)
    }
  }

  const dispatch = (block: string): void => {
    let name = 'message'
    const data: string[] = []
    let id: string | null = null
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const val = colon === -1 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1))
      if (field === 'id') id = val
      else if (field === 'event') name = val
      else if (field === 'data') data.push(val)
      else if (field === 'retry' && /^\d+$/.test(val)) retryMs = Number(val)
    }
    if (id !== null) lastId = id
    if (data.length > 0) h.onEvent(name, data.join('\n'))
  }

  void (async () => {
    while (!ac.signal.aborted) {
      try { await once() } catch {}
      if (ac.signal.aborted) return
      h.onStatus('reconnecting')
      await sleep(retryMs)
    }
  })()
  return () => ac.abort()
}
