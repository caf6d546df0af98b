// The Explorer's time axis: the histogram's bucket range mapped linearly onto its bars' width.
// The histogram, its marks, the graph strip under it and the hover rule all place time with
// this one mapping, so an instant sits at the same pixel on each of them.
export interface TimeAxis {
  /** start of the first bucket and end of the last (epoch ms) */
  start: number
  end: number
  /** bucket width (ms) */
  stepMs: number
}

/** x (px from the left edge of the bars) of an instant, for a bars box `width` px wide. */
export function xOfTime (axis: TimeAxis, t: number, width: number): number {
  return (t - axis.start) / Math.max(1, axis.end - axis.start) * width
}

/** The instant at x px from the left edge of the bars. */
export function timeOfX (axis: TimeAxis, x: number, width: number): number {
  return axis.start + x / Math.max(1, width) * (axis.end - axis.start)
}

/** Whether an instant lies on the axis. */
export function onAxis (axis: TimeAxis, t: number): boolean {
  return t >= axis.start && t <= axis.end
}

/** A point in time marked on the axis: `kind` picks the glyph and colour (firing, resolved, at, …),
 *  `label` is its tooltip. */
export interface TimeMark { t: number, kind: string, label: string }

/** Marks closer than `px` pixels share one glyph (its tooltip lists them all), in time order. */
export function groupMarks (axis: TimeAxis, marks: TimeMark[], width: number, px = 8): Array<{ x: number, marks: TimeMark[] }> {
  const out: Array<{ x: number, marks: TimeMark[] }> = []
  for (const m of [...marks].filter(m => onAxis(axis, m.t)).sort((a, b) => a.t - b.t)) {
    const x = xOfTime(axis, m.t, width)
    const last = out[out.length - 1]
    if (last !== undefined && x - last.x < px) last.marks.push(m); else out.push({ x, marks: [m] })
  }
  return out
}

/** The instant under the pointer (a log row hovered), shared without re-rendering the list. */
export interface TimeCursor { get: () => number | null, set: (t: number | null) => void, subscribe: (fn: (t: number | null) => void) => () => void }

export function createTimeCursor (): TimeCursor {
  let cur: number | null = null
  const subs = new Set<(t: number | null) => void>()
  return {
    get: () => cur,
    set: t => { if (t === cur) return; cur = t; for (const fn of subs) fn(t) },
    subscribe: fn => { subs.add(fn); return () => { subs.delete(fn) } }
  }
}
