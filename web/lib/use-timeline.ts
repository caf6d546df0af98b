// The timeline of a view: the first page of /v1/logs, then more pages by cursor as the list
// scrolls down. A new view aborts the requests of the previous one.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, fetchLogs } from './api.js'
import { filterParams, listParams, type ViewState } from './url-state.js'
import type { LogLine } from './types.js'

export const firstPage = 200
export const nextPage = 1000
/** lines kept in the page; the list says so when there are more */
export const maxLines = 100_000

export interface Timeline {
  /** the view (filter and order) whose first page has been answered, ok or not: the histogram
   *  and facets wait for it, so the lines come first from an engine that runs one query at a time */
  settled: string
  lines: LogLine[], loading: boolean, error: ApiError | null, more: boolean, empty: 'none' | 'no-match' | 'no-logs', loadMore: () => void }

export function useTimeline (state: ViewState, enabled: boolean): Timeline {
  // settled names the view without `at`: a jump within the range reloads only the list
  const key = `${filterParams(state).toString()}&order=${state.order}`
  const loadKey = `${listParams(state).toString()}&order=${state.order}`
  const [lines, setLines] = useState<LogLine[]>([])
  const [loading, setLoading] = useState(false)
  const [error, setError] = useState<ApiError | null>(null)
  const [empty, setEmpty] = useState<Timeline['empty']>('none')
  const [settled, setSettled] = useState('')
  const cursor = useRef<string | null>(null)
  const ac = useRef<AbortController | null>(null)
  const busy = useRef(false)

  const load = useCallback(async (first: boolean) => {
    if (!first && (busy.current || cursor.current === null)) return
    if (first) ac.current?.abort()
    const ctl = first ? new AbortController() : ac.current!
    ac.current = ctl
    busy.current = true
    setLoading(true)
    const p = listParams(state)
    p.set('order', state.order)
    p.set('limit', String(first ? firstPage : nextPage))
    if (!first && cursor.current !== null) p.set('cursor', cursor.current)
    try {
      const page = await fetchLogs(p, ctl.signal)
      if (ctl.signal.aborted) return
      cursor.current = page.nextCursor
      setError(null)
      if (first) {
        setLines(page.lines)
        setSettled(key)
        setEmpty(page.lines.length > 0 ? 'none' : await anyLogs(ctl.signal) ? 'no-match' : 'no-logs')
      } else {
        setLines(prev => {
          const all = prev.concat(page.lines)
          if (all.length >= maxLines) cursor.current = null
          return all.length > maxLines ? all.slice(0, maxLines) : all
        })
      }
    } catch (err) {
      if (ctl.signal.aborted) return
      if (first) { setLines([]); setSettled(key) }
      cursor.current = null
      setError(err instanceof ApiError ? err : new ApiError(0, 'NETWORK', `cannot reach the query API: ${(err as Error).message}`, null))
    } finally {
      if (ac.current === ctl) { busy.current = false; setLoading(false) }
    }
  }, [loadKey])

  useEffect(() => {
    if (!enabled) return
    cursor.current = null
    void load(true)
    return () => { ac.current?.abort() }
  }, [loadKey, enabled])

  // first run: the page comes alive by itself once the first lines arrive (e.g. from sluice demo)
  useEffect(() => {
    if (empty !== 'no-logs' || !enabled) return
    const ac2 = new AbortController()
    const t = setInterval(() => { void anyLogs(ac2.signal).then(any => { if (any && !ac2.signal.aborted) void load(true) }) }, 3000)
    return () => { clearInterval(t); ac2.abort() }
  }, [empty, enabled, key])

  return { settled, lines, loading, error, more: cursor.current !== null, empty, loadMore: () => { void load(false) } }
}

/** Whether Sluice holds any line at all (else the page shows how to send some). */
async function anyLogs (signal: AbortSignal): Promise<boolean> {
  try {
    const page = await fetchLogs(new URLSearchParams({ since: '30d', limit: '1' }), signal)
    return page.lines.length > 0
  } catch (err) { return !(err instanceof ApiError && err.status === 503) }
}
