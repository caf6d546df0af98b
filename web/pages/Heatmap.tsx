// Heatmap: time × log-linear value buckets of a numeric field (GET /v1/heatmap), drawn on a canvas.
//   URL (field=responseTime, the /v1/logs filters, by+isolate) ──▶ one /v1/heatmap ──▶ canvas
//   click a cell ──▶ the Explorer with that bucket's since/until, field>=lo, field<hi (+ isolated host/service)
import { useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { getJson, fetchFacets, ApiError } from '../lib/api.js'
import { usePageParams } from '../lib/page-state.js'
import { formatCount } from '../lib/format.js'
import type { Facets } from '../lib/types.js'
import { PageHeader } from '../components/PageHeader.js'
import { LoginForm } from '../components/LoginForm.js'

interface HeatmapBody {
  field: string, since: string, until: string, step: number, start: string, columns: number
  y: Array<{ lo: number, hi: number }>, cells: number[][], total: number, below: number, above: number, nonNumeric: number
  isolate?: { by: string, value: string, total: number }
}

/** the measured field: a `field` value without an operator (the others are field filters) */
const isPath = (v: string): boolean => /^[A-Za-z_$][\w$-]*(\.[\w$-]+)*$/.test(v)
const viewOnly = new Set(['buckets', 'step', 'min', 'max', 'decade_steps', 'by', 'isolate'])
const restHue = [37, 99, 235]
const isoHue = [234, 88, 12]
const margin = { left: 64, right: 8, top: 10, bottom: 26 }

/** the rows shown and the size of a cell, px */
interface Geometry { row0: number, row1: number, rows: number, rowH: number, colW: number, plotW: number, plotH: number, max: number }

/** rows shown: whole decades around the rows that hold data (the full axis is 90 rows of 1 … 100 s) */
function geometryOf (body: HeatmapBody, width: number): Geometry {
  let lo = Infinity; let hi = -Infinity; let max = 0
  for (const c of body.cells) { lo = Math.min(lo, c[1]); hi = Math.max(hi, c[1]); max = Math.max(max, c[2]) }
  if (lo === Infinity) { lo = 0; hi = body.y.length - 1 }
  const decadeOf = (j: number): number => Math.floor(Math.log10(body.y[j].lo) + 1e-9)
  let row0 = lo; while (row0 > 0 && decadeOf(row0 - 1) === decadeOf(lo)) row0--
  let row1 = hi; while (row1 < body.y.length - 1 && decadeOf(row1 + 1) === decadeOf(hi)) row1++
  const rows = row1 - row0 + 1
  const plotW = width - margin.left - margin.right
  const rowH = Math.max(4, Math.min(14, Math.floor(Math.max(300, innerHeight - 190) / rows)))
  const colW = plotW / body.columns
  return { row0, row1, rows, rowH, colW, plotW, plotH: rows * rowH, max }
}

/** draws the cells, the axes and their labels on the canvas */
function drawHeatmap (cv: HTMLCanvasElement, body: HeatmapBody, geo: Geometry, width: number): void {
  const h = geo.plotH + margin.top + margin.bottom
  cv.width = width * devicePixelRatio; cv.height = h * devicePixelRatio
  cv.style.width = `${width}px`; cv.style.height = `${h}px`
  const ctx = cv.getContext('2d')!
  ctx.scale(devicePixelRatio, devicePixelRatio)
  const css = getComputedStyle(document.documentElement)
  ctx.fillStyle = css.getPropertyValue('--bg').trim() || '#fff'
  ctx.fillRect(0, 0, width, h)
  ctx.fillStyle = css.getPropertyValue('--bg2').trim() || '#f4f5f7'
  ctx.fillRect(margin.left, margin.top, geo.plotW, geo.plotH)
  const scale = Math.log(1 + geo.max)
  for (const [i, j, count, iso] of body.cells) {
    if (j < geo.row0 || j > geo.row1) continue
    // with isolate, the isolated lines' share of the cell is drawn in their own hue (right part)
    const share = iso === undefined || count === 0 ? 0 : iso / count
    const a = (0.3 + 0.7 * Math.log(1 + count) / scale).toFixed(3)
    const x = margin.left + i * geo.colW
    const y = margin.top + (geo.row1 - j) * geo.rowH
    const w = Math.max(1, geo.colW - 0.5)
    const restW = w * (1 - share)
    ctx.fillStyle = `rgba(${restHue.join(',')},${a})`
    if (restW > 0) ctx.fillRect(x, y, restW, geo.rowH - 0.5)
    ctx.fillStyle = `rgba(${isoHue.join(',')},${a})`
    if (share > 0) ctx.fillRect(x + restW, y, w - restW, geo.rowH - 0.5)
  }
  // y labels: each decade's start and its midpoint; x labels: a few times
  ctx.fillStyle = css.getPropertyValue('--dim').trim() || '#666'
  ctx.font = '11px system-ui, sans-serif'
  ctx.textAlign = 'right'; ctx.textBaseline = 'middle'
  for (let j = geo.row0; j <= geo.row1; j++) {
    const lo = body.y[j].lo
    const m = lo / 10 ** Math.floor(Math.log10(lo) + 1e-9)
    if ([1, 2, 5].some(k => Math.abs(m - k) < 1e-9)) ctx.fillText(`${formatCount(lo)}`, margin.left - 6, margin.top + (geo.row1 - j + 1) * geo.rowH)
  }
  ctx.fillText(formatCount(body.y[geo.row1].hi), margin.left - 6, margin.top)
  ctx.textAlign = 'center'; ctx.textBaseline = 'top'
  const start = Date.parse(body.start)
  const every = Math.max(1, Math.ceil(body.columns / 8))
  for (let i = 0; i < body.columns; i += every) {
    ctx.fillText(new Date(start + i * body.step * 1000).toISOString().slice(11, 16), margin.left + i * geo.colW, margin.top + geo.plotH + 9)
  }
  ctx.save(); ctx.translate(12, margin.top + geo.plotH / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = 'center'; ctx.fillText(body.field, 0, 0); ctx.restore()
}

/** The Explorer URL of a cell, as docs/heatmap.md's click-through contract says. */
function explorerUrlOf (params: URLSearchParams, b: HeatmapBody, field: string, by: string, isolate: string, i: number, j: number): string {
  const p = new URLSearchParams()
  for (const [k, v] of params) if (!viewOnly.has(k) && !(k === 'field' && isPath(v)) && k !== 'since' && k !== 'until') p.append(k, v)
  const s = Date.parse(b.start) + i * b.step * 1000
  const since = Math.max(s, Date.parse(b.since))
  const until = Math.min(s + b.step * 1000 - 1, Date.parse(b.until))
  p.set('since', new Date(since).toISOString())
  p.set('until', new Date(until).toISOString())
  p.append('field', `${field}>=${b.y[j].lo}`)
  p.append('field', `${field}<${b.y[j].hi}`)
  if (by !== '' && isolate !== '') p.append(by, isolate)
  return `/?${p.toString()}`
}

/** one line under the header: what the heatmap counts, its scale and what falls outside it */
function HeatSummary ({ body, geo, field }: { body: HeatmapBody, geo: Geometry, field: string }) {
  return (
    <div class="heat-summary" data-total={body.total}>
      <b>{field}</b> · {formatCount(body.total)} lines · {body.step}s columns · y: log-linear buckets, {body.y[geo.row0].lo} – {body.y[geo.row1].hi}
      {body.below > 0 && <> · {formatCount(body.below)} below {body.y[0].lo}</>}
      {body.above > 0 && <> · {formatCount(body.above)} at or above {body.y[body.y.length - 1].hi}</>}
      {body.nonNumeric > 0 && <> · {formatCount(body.nonNumeric)} without a numeric {field}</>}
      {body.isolate !== undefined && <> · <span class="iso-key">■</span> {body.isolate.by} {body.isolate.value}: {formatCount(body.isolate.total)} lines</>}
      <span class="dim"> · click a cell for its lines</span>
    </div>
  )
}

export function HeatmapPage () {
  const [params, update] = usePageParams()
  const field = params.getAll('field').find(isPath) ?? 'responseTime'
  const by = params.get('by') ?? ''
  const isolate = params.get('isolate') ?? ''
  const canvasRef = useRef<HTMLCanvasElement>(null)
  const wrapRef = useRef<HTMLDivElement>(null)
  const [width, setWidth] = useState(0)
  const [body, setBody] = useState<HeatmapBody | null>(null)
  const [facets, setFacets] = useState<Facets | null>(null)
  const [error, setError] = useState<ApiError | null>(null)
  const [needLogin, setNeedLogin] = useState(false)
  const [hover, setHover] = useState<{ i: number, j: number, x: number, y: number } | null>(null)

  useEffect(() => {
    const measure = (): void => setWidth(Math.max(400, (wrapRef.current?.clientWidth ?? 800) - 28))
    measure()
    addEventListener('resize', measure)
    return () => removeEventListener('resize', measure)
  }, [])

  // the API's request: every URL parameter (field=PATH among them) plus the column count from the width
  const apiParams = useMemo(() => {
    const p = new URLSearchParams(params)
    if (!p.getAll('field').some(isPath)) p.append('field', field)
    if (!p.has('since')) p.set('since', '1h')
    if (!p.has('buckets') && !p.has('step')) p.set('buckets', String(Math.min(200, Math.floor((width - margin.left - margin.right) / 8))))
    return p
  }, [params, width])

  useEffect(() => {
    if (width === 0) return
    const ctl = new AbortController()
    setError(null)
    getJson<HeatmapBody>('/v1/heatmap', apiParams, ctl.signal).then(setBody, (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) setNeedLogin(true)
      else if (err instanceof ApiError) { setError(err); setBody(null) }
    })
    const fp = new URLSearchParams(apiParams)
    for (const k of [...viewOnly, 'field']) fp.delete(k)
    for (const f of apiParams.getAll('field')) if (!isPath(f)) fp.append('field', f)
    fetchFacets(fp, ctl.signal).then(setFacets, () => {})
    return () => ctl.abort()
  }, [apiParams])

  const geo = useMemo(() => body === null ? null : geometryOf(body, width), [body, width])

  useEffect(() => {
    const cv = canvasRef.current
    if (cv !== null && body !== null && geo !== null) drawHeatmap(cv, body, geo, width)
  }, [body, geo, width])

  const cellAt = (e: MouseEvent): { i: number, j: number, x: number, y: number } | null => {
    if (body === null || geo === null) return null
    const r = (e.currentTarget as HTMLCanvasElement).getBoundingClientRect()
    const x = e.clientX - r.left - margin.left
    const y = e.clientY - r.top - margin.top
    if (x < 0 || y < 0 || x >= geo.plotW || y >= geo.plotH) return null
    return { i: Math.floor(x / geo.colW), j: geo.row1 - Math.floor(y / geo.rowH), x: e.clientX - r.left, y: e.clientY - r.top }
  }
  const cellOf = (i: number, j: number): number[] | undefined => body?.cells.find(c => c[0] === i && c[1] === j)

  const explorerUrl = (i: number, j: number): string => explorerUrlOf(params, body!, field, by, isolate, i, j)

  if (needLogin) return <LoginForm onDone={() => { setNeedLogin(false); update({}, true) }} />
  const hv = hover === null ? undefined : cellOf(hover.i, hover.j)
  const choices = by === 'service' ? facets?.service : by === 'host' ? facets?.host : undefined
  const fieldChoices = (facets?.fields ?? []).map(f => f.value)
  return (
    <div class="app page">
      <PageHeader
        params={params} update={update}
        lead={<>
          <label class="dim">field <input aria-label="field" list="heatmap-fields" value={field} onChange={e => { const v = (e.target as HTMLInputElement).value.trim(); update({ field: [v, ...params.getAll('field').filter(f => !isPath(f))] }) }} /></label>
          <datalist id="heatmap-fields">{fieldChoices.map(f => <option key={f} value={f} />)}</datalist>
        </>}
      >
        <label class="dim">isolate <select aria-label="isolate by" value={by} onChange={e => { const v = (e.target as HTMLSelectElement).value; update({ by: v === '' ? null : v, isolate: null }) }}>
          <option value="">—</option><option value="host">host</option><option value="service">service</option>
        </select></label>
        {by !== '' && <select aria-label="isolate" value={isolate} onChange={e => update({ isolate: (e.target as HTMLSelectElement).value || null })}>
          <option value="">pick a {by}…</option>
          {(choices ?? []).map(f => <option key={f.value} value={f.value}>{f.value} ({formatCount(f.count)})</option>)}
        </select>}
      </PageHeader>
      <div class="page-body" ref={wrapRef}>
        {error !== null && <div class="field-error" data-param={error.param ?? ''}>{error.message}</div>}
        {body !== null && geo !== null && <>
          <HeatSummary body={body} geo={geo} field={field} />
          {body.total === 0 && <div class="no-match">No lines with {field} in this range.</div>}
          <div class="heat-wrap">
            <canvas
              ref={canvasRef} class="heatmap" aria-label={`heatmap of ${field}`}
              data-left={margin.left} data-top={margin.top} data-col-w={geo.colW} data-row-h={geo.rowH} data-row0={geo.row0} data-row1={geo.row1} data-columns={body.columns} data-query={apiParams.toString()} data-since={body.since} data-until={body.until}
              onMouseMove={e => setHover(cellAt(e))} onMouseLeave={() => setHover(null)}
              onClick={e => { const c = cellAt(e); if (c !== null && cellOf(c.i, c.j) !== undefined) location.href = explorerUrl(c.i, c.j) }}
            />
            {hover !== null && body.y[hover.j] !== undefined && (
              <div class="heat-tip" style={{ left: `${Math.min(hover.x + 12, width - 230)}px`, top: `${hover.y + 12}px` }}>
                {new Date(Date.parse(body.start) + hover.i * body.step * 1000).toISOString().slice(11, 19)}Z +{body.step}s<br />
                {field} {body.y[hover.j].lo} – {body.y[hover.j].hi}<br />
                {formatCount(hv?.[2] ?? 0)} lines{hv?.[3] !== undefined ? `, ${formatCount(hv[3])} from ${isolate}` : ''}
              </div>
            )}
          </div>
        </>}
        {body === null && error === null && <div class="dim pad">loading…</div>}
      </div>
    </div>
  )
}
