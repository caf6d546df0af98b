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

/** GET /v1/gaps (docs/gaps.md): per source, the byte ranges ClickHouse does not hold */
export type GapClass = 'lost' | 'in_flight' | 'dropped' | 'dead_lettered'
export interface GapRange { from: number, to: number | null, bytes: number | null, class: GapClass, reason?: string, before: string | null, after: string | null }
export interface GapSource { source: string, host: string, service: string, path: string, state: string | null, acked: number | null, size: number | null, line_bytes: number | null, ranges: GapRange[] }
export interface GapHost { host: string, last_progress: string, age_seconds: number, silent: boolean }
export interface Gaps { complete: boolean, lost: boolean, bytes: Record<GapClass, number>, sources: GapSource[], hosts: GapHost[] }
