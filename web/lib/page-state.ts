// URL state of the Processes, Heatmap and Alerts pages: their query string is the state, with
// the API's parameter names; a change pushes a history entry, back/forward re-read it.
import { useCallback, useEffect, useState } from 'preact/hooks'

export function usePageParams (): [URLSearchParams, (change: Record<string, string | string[] | null>, replace?: boolean) => void] {
  const [params, setParams] = useState(() => new URLSearchParams(location.search))
  useEffect(() => {
    const onPop = (): void => setParams(new URLSearchParams(location.search))
    addEventListener('popstate', onPop)
    return () => removeEventListener('popstate', onPop)
  }, [])
  const update = useCallback((change: Record<string, string | string[] | null>, replace = false) => {
    const next = new URLSearchParams(location.search)
    for (const [k, v] of Object.entries(change)) {
      next.delete(k)
      if (v === null) continue
      for (const one of Array.isArray(v) ? v : [v]) if (one !== '') next.append(k, one)
    }
    const qs = next.toString()
    const url = qs === '' ? location.pathname : `${location.pathname}?${qs}`
    if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url)
    setParams(next)
  }, [])
  return [params, update]
}

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

/** A `since`/`until` value as epoch ms: a duration ago (`90m`), ISO-8601 or epoch ms; null if unreadable. */
export function timeOf (v: string, now: number): number | null {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(v.trim())
  if (d !== null) return now - Number(d[1]) * unitMs[d[2]]
  if (/^\d{10,}$/.test(v)) return Number(v)
  const t = Date.parse(v)
  return Number.isNaN(t) ? null : t
}

const niceSteps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

/** A round step (seconds) giving at most about one point per `pxPerPoint` pixels of the chart. */
export function stepFor (rangeMs: number, widthPx: number, pxPerPoint = 3): number {
  const want = rangeMs / 1000 / Math.max(10, widthPx / pxPerPoint)
  return niceSteps.find(s => s >= want) ?? Math.ceil(want / 86400) * 86400
}
