// What the Explorer draws on the histogram's time axis besides the bars: the axis itself (as the
// histogram reports it), the instant under the pointer, alert transitions and the list's minute.
import { useMemo, useState } from 'preact/hooks'
import type { Mark } from '../components/ProcessChart.js'
import { concerns, markOf, useAlertTransitions } from './alert-marks.js'
import { createTimeCursor, type TimeAxis, type TimeCursor, type TimeMark } from './time-scale.js'
import type { ViewState } from './url-state.js'
import type { LogLine } from './types.js'

export interface TimeAxisView {
  axis: TimeAxis | null
  setAxis: (a: TimeAxis | null) => void
  cursor: TimeCursor
  /** the minute the list starts at (epoch ms), NaN for none */
  at: number
  /** the alert transitions of the axis' range have been loaded (the glyphs are complete) */
  alertsLoaded: boolean
  /** glyphs under the histogram */
  axisMarks: TimeMark[]
  /** lines on the strip's graphs */
  stripMarks: Mark[]
  /** the pointer over the list: the hovered line's instant becomes the cursor */
  hoverLine: (e: MouseEvent, lines: LogLine[]) => void
}

export function useTimeAxis (state: ViewState): TimeAxisView {
  const [axis, setAxis] = useState<TimeAxis | null>(null)
  const cursor = useMemo(createTimeCursor, [])
  const { list: transitions, loadedFor } = useAlertTransitions(state, state.tail ? null : axis)
  const alertsLoaded = axis !== null && loadedFor === `${axis.start}-${axis.end}`
  const alerts = useMemo(() => transitions.filter(t => concerns(state, t)), [transitions, state.host, state.service, state.notHost, state.notService])
  const at = state.at === '' ? NaN : Date.parse(state.at)
  const axisMarks = useMemo<TimeMark[]>(() => [
    ...alerts.map(markOf),
    ...(Number.isNaN(at) ? [] : [{ t: at, kind: 'at', label: 'the minute the list starts at (picked on a graph)' }])
  ], [alerts, at])
  const stripMarks = useMemo<Mark[]>(() => alerts.map(a => ({ t: Date.parse(a.ts), colour: a.to_state === 'firing' ? '--error' : '--info', dashed: false })), [alerts])
  const hoverLine = (e: MouseEvent, lines: LogLine[]): void => {
    const i = Number((e.target as HTMLElement).closest('.vrow')?.getAttribute('data-index') ?? NaN)
    const l = Number.isNaN(i) ? undefined : lines[i]
    cursor.set(l === undefined ? null : Date.parse(l.ts))
  }
  return { axis, setAxis, cursor, at, axisMarks, alertsLoaded, stripMarks, hoverLine }
}
