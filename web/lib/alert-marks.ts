// Alert transitions (firing, resolved) of the view's range and hosts/services, from
// /v1/alerts/history, as marks on the Explorer's time axis. None when alerting is off.
import { useEffect, useState } from 'preact/hooks'
import { getJson } from './api.js'
import { isoOf } from './format.js'
import type { TimeAxis, TimeMark } from './time-scale.js'
import type { ViewState } from './url-state.js'

export interface AlertTransition { rule_id: string, rule_name: string, host: string, service: string, pid: number, to_state: string, ts: string, value: number, threshold: number }

/** Whether a transition concerns the view's hosts/services (one without a host or service, e.g. a
 *  fleet-wide rule, concerns every view). */
export function concerns (s: ViewState, t: AlertTransition): boolean {
  const hostOk = t.host === '' || ((s.host.length === 0 || s.host.includes(t.host)) && !s.notHost.includes(t.host))
  const svcOk = t.service === '' || ((s.service.length === 0 || s.service.includes(t.service)) && !s.notService.includes(t.service))
  return hostOk && svcOk
}

const num = (v: number): string => Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4)))

export function markOf (t: AlertTransition): TimeMark {
  const who = [t.host, t.service].filter(x => x !== '').join('/') + (t.pid > 0 ? ` pid ${t.pid}` : '')
  return { t: Date.parse(t.ts), kind: t.to_state, label: `${t.rule_name} ${t.to_state}${who === '' ? '' : ` on ${who}`}: value ${num(t.value)} (threshold ${num(t.threshold)})` }
}

/** the transitions of the axis' range, and the range (`start-end`) they were loaded for ('' until then) */
export function useAlertTransitions (state: ViewState, axis: TimeAxis | null): { list: AlertTransition[], loadedFor: string } {
  const [got, setGot] = useState<{ list: AlertTransition[], loadedFor: string }>({ list: [], loadedFor: '' })
  const key = axis === null ? '' : `${axis.start}-${axis.end}`
  useEffect(() => {
    if (axis === null) return
    const ac = new AbortController()
    getJson<{ transitions: AlertTransition[] }>('/v1/alerts/history', new URLSearchParams({ since: isoOf(axis.start), limit: '500' }), ac.signal).then(h => {
      setGot({ list: h.transitions.filter(t => (t.to_state === 'firing' || t.to_state === 'resolved') && Date.parse(t.ts) <= axis.end), loadedFor: key })
    }, () => { if (!ac.signal.aborted) setGot({ list: [], loadedFor: key }) })
    return () => ac.abort()
  }, [key])
  return got
}
