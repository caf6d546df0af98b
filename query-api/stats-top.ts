// /v1/stats with top=N or keys=…: only the chosen processes' series, the others as one min–max
// band per step, and every matching process (rank order, first and last step) for legends and
// restart markers. One statement: buckets → (rate/increase differences) → per-process score and
// rank (window functions) → each row twice (ARRAY JOIN): per chosen process and step, per step of
// the others (the band), per process (the list).
import { Type, type Static } from '@sinclair/typebox'
import { errors } from '../platform/errors.js'
import { paramValues } from '../schemas/log-filter.js'

/** top is capped so an answer stays a handful of series */
export const maxTop = 50

export interface TopSpec { top?: number, keys?: string[], band: boolean }

// a process key as the web UI writes it; host and service may hold '/', the pid is the last part
const keyPattern = /^[^/]+\/.+\/\d{1,10}$/

/** Checks top, keys and band; null when none is given (the plain answer). */
export function topSpec (qs: { top?: string, keys?: string | string[], band?: string }): TopSpec | null {
  if (qs.top === undefined && qs.keys === undefined && qs.band === undefined) return null
  let top: number | undefined
  if (qs.top !== undefined) {
    top = /^\d{1,3}$/.test(qs.top) ? Number(qs.top) : NaN
    if (!(top >= 1 && top <= maxTop)) throw errors.BAD_PARAM('top', `must be a whole number from 1 to ${maxTop}; got ${JSON.stringify(qs.top)}`)
  }
  let keys: string[] | undefined
  if (qs.keys !== undefined) {
    if (top !== undefined) throw errors.BAD_PARAM('keys', 'cannot be combined with top: ask for the top N processes or for exactly these')
    keys = [...new Set(paramValues(qs.keys))]
    if (keys.length > maxTop) throw errors.BAD_PARAM('keys', `lists at most ${maxTop} processes; got ${keys.length}`)
    const bad = keys.find(k => !keyPattern.test(k))
    if (bad !== undefined) throw errors.BAD_PARAM('keys', `each must be host/service/pid, e.g. web-1/api/4242; got ${JSON.stringify(bad)}`)
  }
  if (qs.band !== undefined && qs.band !== 'minmax') throw errors.BAD_PARAM('band', `must be minmax (the lowest and highest value per step of the processes not chosen); got ${JSON.stringify(qs.band)}`)
  if (top === undefined && keys === undefined) throw errors.BAD_PARAM('band', 'needs top or keys: the band covers the processes not chosen by them')
  return { top, keys, band: qs.band === 'minmax' }
}

/** The one statement over `bucketed` (host, service, pid, t, v[, lt] per step). */
export function topSql (bucketed: string, spec: TopSpec, agg: string, params: Record<string, unknown>, firstBucket: number): string {
  let values = bucketed
  if (agg === 'rate' || agg === 'increase') {
    params.firstBucket = firstBucket
    // as differences() in stats-route.ts: each step's last value minus the previous step's with samples
    const diff = agg === 'increase' ? 'v - pv' : 'if(lt > plt, (v - pv) / ((lt - plt) / 1000), 0)'
    values = `SELECT host, service, pid, t, ${diff} AS v FROM (
  SELECT host, service, pid, t, v, lt, lagInFrame(v) OVER w AS pv, lagInFrame(lt) OVER w AS plt, row_number() OVER w AS rn
  FROM (${bucketed}) WINDOW w AS (PARTITION BY host, service, pid ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
) WHERE rn > 1 AND t >= {firstBucket:Int64}`
  }
  let chosen: string
  if (spec.top !== undefined) { chosen = 'rk <= {top:UInt32}'; params.top = spec.top } else { chosen = "concat(host, '/', service, '/', toString(pid)) IN {keys:Array(String)}"; params.keys = spec.keys }
  // rank: the mean of the per-step values over the range, highest first; ties by host, service, pid
  const ranked = `SELECT host, service, pid, t, v, first, last, dense_rank() OVER (ORDER BY score DESC, host, service, pid) AS rk
FROM (SELECT host, service, pid, t, v, avg(v) OVER p AS score, min(t) OVER p AS first, max(t) OVER p AS last FROM (${values}) WINDOW p AS (PARTITION BY host, service, pid))`
  // kind 1: one row per process; kind 0: a chosen process's step (lo = hi = v) or a step of the band
  return `SELECT kind, toUInt8(sel) AS chosen, if(kind = 1 OR sel, host, '') AS h, if(kind = 1 OR sel, service, '') AS s, if(kind = 1 OR sel, pid, 0) AS p, if(kind = 1, 0, t) AS tt,
  min(v) AS lo, max(v) AS hi, if(kind = 1 OR sel, min(rk), 0) AS r, min(first) AS f, max(last) AS l
FROM (SELECT *, ${chosen} AS sel FROM (${ranked})) ARRAY JOIN [0, 1] AS kind
GROUP BY kind, sel, h, s, p, tt
ORDER BY kind DESC, (kind = 1 OR sel) DESC, r, tt
LIMIT {maxRows:UInt32}`
}

export interface TopRow { kind: number, chosen: number, h: string, s: string, p: number, tt: number, lo: number, hi: number, f: number, l: number }

const BandPoint = Type.Array(Type.Union([Type.String(), Type.Number()]), { minItems: 3, maxItems: 3, description: '[ISO-8601 bucket start, lowest value, highest value]' })
export const TopFields = {
  band: Type.Optional(Type.Object({
    count: Type.Integer({ description: 'processes in the band: all matching ones not in series' }),
    points: Type.Array(BandPoint, { description: 'steps where at least one of them reported' })
  }, { description: 'with band=minmax: the processes not in series, as the lowest and highest value per step' })),
  processes: Type.Optional(Type.Array(Type.Object({ host: Type.String(), service: Type.String(), pid: Type.Integer(), first: Type.String(), last: Type.String() }), {
    description: 'with top or keys: every process matching the filters, highest ranked first (mean of its per-step values), with its first and last step; its length is the total number of series'
  }))
}
type Point = [string, number]
export interface TopAnswer {
  series: Array<{ host: string, service: string, pid: number, points: Point[] }>
  band?: Static<typeof TopFields.band>
  processes: NonNullable<Static<typeof TopFields.processes>>
}

/** Rows of topSql (ordered: processes, chosen steps, band steps) as the answer's fields. */
export function topAnswer (rows: TopRow[], spec: TopSpec): TopAnswer {
  const iso = (ms: number): string => new Date(Number(ms)).toISOString()
  const processes: TopAnswer['processes'] = []
  const series: TopAnswer['series'] = []
  const band: Array<[string, number, number]> = []
  for (const r of rows) {
    if (Number(r.kind) === 1) processes.push({ host: r.h, service: r.s, pid: Number(r.p), first: iso(r.f), last: iso(r.l) })
    else if (Number(r.chosen) === 1) {
      const last = series[series.length - 1]
      const point: Point = [iso(r.tt), Number(r.lo)]
      if (last !== undefined && last.host === r.h && last.service === r.s && last.pid === Number(r.p)) last.points.push(point)
      else series.push({ host: r.h, service: r.s, pid: Number(r.p), points: [point] })
    } else band.push([iso(r.tt), Number(r.lo), Number(r.hi)])
  }
  return { series, ...(spec.band ? { band: { count: processes.length - series.length, points: band } } : {}), processes }
}
