// One small multiple of the Processes page: uPlot, one line per top process, a min–max band for
// the rest, a dashed limit, restart markers. Every chart shares the x scale (the page's range)
// and the cursor (uPlot's sync key), so a hover shows the same instant on all of them.
import { useEffect, useRef, useState } from 'preact/hooks'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatValue, type ChartData } from '../lib/process-series.js'

export interface Mark { t: number, colour: string, dashed: boolean }

export const palette = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#9333ea', '#0891b2', '#db2777', '#65a30d', '#7c3aed', '#ea580c']

interface Props {
  id: string
  title: string
  unit: string
  data: ChartData
  colours: Map<string, string>
  range: [number, number]
  /** vertical markers: restarts (dashed) and alert transitions (solid) */
  marks: Mark[]
  width: number
  /** a click on the plot: the hovered instant (epoch ms) */
  onPick?: (ms: number) => void
  /** the Explorer's strip: no axes (the plot spans `width` exactly), title and readout on one line above */
  compact?: boolean
  height?: number
  /** charts with the same key show the same hovered instant */
  syncKey?: string
  /** seconds added to each x when drawn: a step's value sits mid-step, over its histogram bar */
  offset?: number
  /** compact: the hovered instant as drawn (epoch ms; null when the pointer leaves), in place of uPlot's own cursor lines */
  onHover?: (ms: number | null) => void
}

/** A limit far above every line (a 2 GiB heap limit over 60 MiB heaps) would flatten them: the
 *  scale then ends above the lines, and the readout still gives the limit. */
function yMaxOf (data: ChartData): number {
  let top = 0
  for (const c of [...data.lines.map(l => l.values), ...(data.band !== null ? [data.band.max] : [])]) for (const v of c) if (v !== null && v > top) top = v
  const limitTop = data.limit?.reduce<number>((m, v) => Math.max(m, v ?? 0), 0) ?? 0
  return limitTop > 0 && top >= limitTop / 4 ? limitTop * 1.05 : top * 1.1 || 1
}

const cssVar = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888'

export function ProcessChart ({ id, title, unit, data, colours, range, marks, width, onPick, compact = false, height = 150, syncKey = 'sluice-processes', offset = 0, onHover }: Props) {
  const box = useRef<HTMLDivElement>(null)
  const [idx, setIdx] = useState<number | null>(null)

  useEffect(() => {
    if (box.current === null) return
    const fg = cssVar('--dim')
    const grid = cssVar('--line')
    const series: uPlot.Series[] = [{}]
    const cols: Array<Array<number | null>> = []
    for (const l of data.lines) {
      // compact: uPlot's default shows the points only where they are sparse (a lone sample would be invisible)
      series.push({ label: l.key, stroke: colours.get(l.key), width: 1.5, dash: l.dashed === true ? [4, 3] : undefined, spanGaps: true, points: compact ? { size: 4 } : { show: false } })
      cols.push(l.values)
    }
    const bands: uPlot.Band[] = []
    if (data.band !== null) {
      series.push({ label: 'others max', stroke: 'rgba(128,128,128,.5)', width: 1, spanGaps: true, points: { show: false } })
      series.push({ label: 'others min', stroke: 'rgba(128,128,128,.5)', width: 1, spanGaps: true, points: { show: false } })
      cols.push(data.band.max, data.band.min)
      bands.push({ series: [series.length - 2, series.length - 1], fill: 'rgba(128,128,128,.18)' })
    }
    if (data.limit !== null) {
      series.push({ label: 'limit', stroke: cssVar('--error'), width: 1, dash: [6, 4], spanGaps: true, points: { show: false } })
      cols.push(data.limit)
    }
    const axisValues = (_u: uPlot, vals: number[]): string[] => vals.map(v => formatValue(v, unit, true))
    // bytes: ticks at powers of two (16 MiB, 32 MiB …), which read as round numbers
    const yMax = yMaxOf(data)
    const plot = new uPlot({
      width: compact ? width : width - 14,
      height,
      legend: { show: false },
      cursor: { sync: { key: syncKey }, points: { size: 5 }, ...(compact ? { x: false, y: false } : {}) },
      scales: { x: { time: true, range: () => range }, y: { range: () => [0, yMax] } },
      ...(compact ? { padding: [3, 0, 1, 0] as uPlot.Padding } : {}),
      axes: compact ? [{ show: false }, { show: false }] : [
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, values: axisValues, size: 72, incrs: unit === 'bytes' ? Array.from({ length: 40 }, (_, k) => 2 ** (k + 4)) : undefined }
      ],
      series,
      bands,
      hooks: {
        setCursor: [u => {
          const i = u.cursor.idx ?? null
          setIdx(i)
          onHover?.(i === null ? null : (data.x[i] + offset) * 1000)
        }],
        draw: [u => {
          // when the chart was first drawn (ms since navigation): what tests and the bench wait for
          const plotBox = u.root.parentElement
          if (plotBox !== null && plotBox.dataset.drawn === undefined) plotBox.dataset.drawn = performance.now().toFixed(1)
          const ctx = u.ctx
          ctx.save()
          ctx.lineWidth = 1.5 * devicePixelRatio
          for (const m of marks) {
            const px = Math.round(u.valToPos(m.t / 1000, 'x', true))
            if (px < u.bbox.left || px > u.bbox.left + u.bbox.width) continue
            ctx.strokeStyle = cssVar(m.colour)
            ctx.setLineDash(m.dashed ? [3 * devicePixelRatio, 3 * devicePixelRatio] : [])
            ctx.beginPath(); ctx.moveTo(px, u.bbox.top); ctx.lineTo(px, u.bbox.top + u.bbox.height); ctx.stroke()
          }
          ctx.restore()
        }]
      }
    }, [offset === 0 ? data.x : data.x.map(x => x + offset), ...cols] as uPlot.AlignedData, box.current)
    // the instant the readout shows (the nearest sample), not the raw pixel
    const onClick = (): void => { const i = plot.cursor.idx; if (i !== null && i !== undefined) onPick?.(data.x[i] * 1000) }
    plot.over.addEventListener('click', onClick)
    return () => { plot.over.removeEventListener('click', onClick); plot.destroy() }
  }, [data, width, range[0], range[1], marks, height, compact, offset])

  const t = idx !== null ? data.x[idx] : undefined
  const readout = (
    <div class="readout" data-t={t === undefined ? '' : new Date(t * 1000).toISOString()}>
      {compact && <h3>{title}</h3>}
      {t === undefined
        ? <span class="dim">{compact ? `up to ${formatValue(yMaxOf(data) / 1.1, unit)}` : 'hover a chart: the same instant shows on every chart'}</span>
        : <>
          <span class="ts">{new Date(t * 1000).toISOString().replace('T', ' ').replace('.000Z', 'Z')}</span>
          {data.lines.map(l => (
            <span key={`${l.key}${l.dashed === true ? '-2' : ''}`} class="rv" data-key={l.key} data-value={l.values[idx!] ?? ''} data-dashed={l.dashed === true ? '1' : undefined}>
              <i style={{ background: colours.get(l.key) }} />{formatValue(l.values[idx!], unit)}
            </span>
          ))}
          {data.band !== null && <span class="rv dim band">others {formatValue(data.band.min[idx!], unit)} – {formatValue(data.band.max[idx!], unit)}</span>}
          {data.limit !== null && <span class="rv dim">limit {formatValue(data.limit[idx!], unit)}{data.limit[idx!] !== null && data.limit[idx!]! > yMaxOf(data) ? ' (above the scale)' : ''}</span>}
        </>}
    </div>
  )
  return (
    <section class={`pchart${compact ? ' compact' : ''}`} style={{ width: `${width}px` }} data-chart={id} data-min={range[0]} data-max={range[1]}>
      {compact ? readout : <h3>{title}</h3>}
      <div ref={box} class="pchart-plot" />
      {!compact && readout}
    </section>
  )
}
