// Shapes of the query API's answers, as the page reads them (over HTTP only).
export const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = typeof levels[number]

export interface LogLine {
  ts: string
  host: string
  service: string
  pid: number
  level: string
  msg: string
  fields: Record<string, unknown>
  source: string
  path: string
  offset: number
  flags: string[]
  context?: boolean
}

export interface LogsPage { lines: LogLine[], nextCursor: string | null }

export interface FacetValue { value: string, count: number }
export interface Facets { total: number, host: FacetValue[], service: FacetValue[], level: FacetValue[], fields: FacetValue[], sampled: number }

/** one histogram bar: its start (epoch ms) and the count of each level */
export interface Bar { start: number, end: number, counts: Record<string, number> }
export interface Histogram { bars: Bar[], total: number }
