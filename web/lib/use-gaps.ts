// The missing ranges of a view (GET /v1/gaps for its hosts, services and time range). Asked once
// per view, a moment after the lines, histogram and facets have been asked for (the embedded
// engine runs one query at a time), and only for ranges up to a day: a week of gaps is a
// `sluice gaps` question, not one to ask on every click.
import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, fetchGaps } from './api.js'
import { shownGaps, spanMs, type ShownGap } from './gap-rows.js'
import type { GapHost } from './types.js'
import type { ViewState } from './url-state.js'

export const maxGapSpanMs = 86_400_000
const settleMs = 400

export interface ViewGaps {
  /** the query the answer is for ('' while none) */
  for: string
  gaps: ShownGap[]
  silent: GapHost[]
  /** why gaps were not looked for ('' when they were) */
  skipped: string
}

export function gapParams (s: ViewState): URLSearchParams {
  const p = new URLSearchParams()
  for (const h of s.host) p.append('host', h)
  for (const v of s.service) p.append('service', v)
  p.set('since', s.since)
  if (s.until !== '') p.set('until', s.until)
  return p
}

const none: ViewGaps = { for: '', gaps: [], silent: [], skipped: '' }

export function useGaps (state: ViewState, ready: boolean, onAuth: (err: unknown) => void): ViewGaps {
  const [shown, setShown] = useState<ViewGaps>(none)
  const key = gapParams(state).toString()
  const excluded = `${state.notHost.join(',')}|${state.notService.join(',')}`
  /** the view last answered: a new text search or level keeps the same gaps, it asks nothing */
  const answered = useRef('')
  useEffect(() => {
    if (!ready || answered.current === `${key}|${excluded}`) return
    const span = spanMs(state.since, state.until, Date.now())
    if (span !== null && span > maxGapSpanMs) { setShown({ ...none, for: key, skipped: 'missing ranges are looked for in ranges up to 24 h (sluice gaps for more)' }); return }
    const ac = new AbortController()
    const t = setTimeout(() => {
      fetchGaps(gapParams(state), ac.signal).then(g => {
        answered.current = `${key}|${excluded}`
        if (g === null) { setShown({ ...none, for: key }); return }
        // heartbeats carry no service: in a view of some services, a silent host counts when it
        // tails one of their files (each such file then has a host_silent range)
        const silent = g.hosts.filter(h => h.silent && !state.notHost.includes(h.host) && (state.service.length === 0 || g.sources.some(s => s.host === h.host)))
        setShown({ for: key, gaps: shownGaps(g, state.notHost, state.notService), silent, skipped: '' })
      }, err => {
        if (ac.signal.aborted) return
        onAuth(err)
        setShown({ ...none, for: key, skipped: `missing ranges unknown: ${err instanceof ApiError ? err.message : String(err)}` })
      })
    }, settleMs)
    return () => { clearTimeout(t); ac.abort() }
  }, [key, excluded, ready])
  return shown.for === key ? shown : none
}
