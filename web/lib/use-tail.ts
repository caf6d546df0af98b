// Live tail: /v1/tail with the view's filters, followed by followSse (sse.ts), which resends
// Last-Event-ID whenever the stream drops, and the API resumes there (no gap, no duplicate). Lines are drawn a few times a second, newest first, and at most maxTailLines
// are kept. While paused (the reader scrolled away), new lines wait in a bounded buffer and
// are counted, so the page can say how many arrived.
import { useEffect, useRef, useState } from 'preact/hooks'
import { filterParams, type ViewState } from './url-state.js'
import { followSse } from './sse.js'
import type { LogLine } from './types.js'

export const maxTailLines = 5000
const drawEveryMs = 200

export interface Tail {
  lines: LogLine[]
  /** lines that arrived while paused (all of them, even beyond what is kept) */
  pending: number
  rate: number
  dropped: number
  status: 'connecting' | 'live' | 'reconnecting' | 'unauthorized'
  /** why the last attempt failed, when reconnecting */
  why: string
  /** set when the stream could not resume where it stopped (lines in between are only in the timeline) */
  gap: string
  resume: () => void
}

export function useTail (state: ViewState, enabled: boolean, paused: boolean): Tail {
  const key = filterParams(state, { range: false }).toString()
  const [lines, setLines] = useState<LogLine[]>([])
  const [pending, setPending] = useState(0)
  const [rate, setRate] = useState(0)
  const [dropped, setDropped] = useState(0)
  const [status, setStatus] = useState<Tail['status']>('connecting')
  const [why, setWhy] = useState('')
  const [gap, setGap] = useState('')
  const incoming = useRef<LogLine[]>([])
  const held = useRef<LogLine[]>([])
  const heldCount = useRef(0)
  const pausedRef = useRef(paused)
  /** [when, how many] per draw over the last 5 s, for the rate */
  const arrivals = useRef<Array<[number, number]>>([])
  pausedRef.current = paused

  useEffect(() => {
    if (!enabled) return
    setLines([]); setPending(0); setDropped(0); setStatus('connecting'); setGap('')
    incoming.current = []; held.current = []; heldCount.current = 0
    const stop = followSse(`/v1/tail?${key}`, {
      onEvent (name, data) {
        try {
          if (name === 'line') incoming.current.push(JSON.parse(data) as LogLine)
          else if (name === 'dropped') { const d = JSON.parse(data) as { count: number }; setDropped(n => n + d.count) }
        } catch {}
      },
      onStatus (s, w) { setStatus(s); if (w !== undefined || s === 'live') setWhy(w ?? '') },
      onGap (w) { setGap(w) }
    })
    const timer = setInterval(() => {
      const now = Date.now()
      const fresh = incoming.current
      incoming.current = []
      const recent = arrivals.current.filter(a => a[0] > now - 5000)
      recent.push([now, fresh.length])
      arrivals.current = recent
      setRate(Math.round(recent.reduce((n, a) => n + a[1], 0) / 5))
      if (fresh.length === 0) return
      fresh.reverse()
      if (pausedRef.current) {
        held.current = fresh.concat(held.current).slice(0, maxTailLines)
        heldCount.current += fresh.length
        setPending(heldCount.current)
      } else {
        setLines(prev => fresh.concat(prev).slice(0, maxTailLines))
      }
    }, drawEveryMs)
    return () => { clearInterval(timer); stop() }
  }, [key, enabled])

  const resume = (): void => {
    const h = held.current
    held.current = []
    heldCount.current = 0
    setPending(0)
    if (h.length > 0) setLines(prev => h.concat(prev).slice(0, maxTailLines))
  }
  return { lines, pending, rate, dropped, status, why, gap, resume }
}
