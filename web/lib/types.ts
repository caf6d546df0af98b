// Shapes of the query API's answers, as the page reads them (over HTTP only).
export const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const
export type Level = typeof levels[number]

export type { LogLine } from '../../schemas/log-line.js'
import type { LogLine } from '../../schemas/log-line.js'

export interface LogsPage { lines: LogLine[], nextCursor: string | null }

export interface FacetValue { value: string, count: number }
export interface Facets { total: number, host: FacetValue[], service: FacetValue[], level: FacetValue[], fields: FacetValue[], sampled: number }

/** one histogram bar: its start (epoch ms) and the count of each level */
export interface Bar { start: number, end: number, counts: Record<string, number> }
export interface Histogram { bars: Bar[], total: number }
