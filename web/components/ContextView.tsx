// "Show context", exactly: the N lines before and after a line in *its own source* (the grep -C
// of /v1/logs `context`, found by byte offset), however many other hosts logged meanwhile; the
// line itself highlighted; more loaded above or below on demand. A second tab shows what every
// machine logged in the seconds around it.
import { useEffect, useState } from 'preact/hooks'
import { ApiError, fetchLogs } from '../lib/api.js'
import { isoOf } from '../lib/format.js'
import type { LogLine } from '../lib/types.js'
import { LogRow } from './LogRow.js'

interface Props { line: LogLine, utc: boolean, onClose: () => void }

const step = 5
const maxContext = 100
const aroundMs = 5000
const fleetSide = 250

/** The window of `n` lines before and after `line` in its source, from the API's grep -C answer. */
async function sourceWindow (line: LogLine, before: number, after: number, signal: AbortSignal): Promise<LogLine[]> {
  const n = Math.min(maxContext, Math.max(before, after))
  // the match is this line: its host, service and exact millisecond, and its text; other lines
  // matching too only bring windows of their own, which are cut away below
  const p = new URLSearchParams({ host: line.host, service: line.service, since: line.ts, until: line.ts, context: String(n), limit: '200', order: 'asc' })
  if (line.msg !== '') p.set('q', line.msg.slice(0, 200))
  const page = await fetchLogs(p, signal)
  const same = page.lines.filter(l => l.source === line.source).sort((a, b) => a.offset - b.offset)
  const at = same.findIndex(l => l.offset === line.offset)
  if (at < 0) return []
  return same.slice(Math.max(0, at - before), at + after + 1)
}

/** Every host's lines nearest to the line's time, up to `fleetSide` on each side within ±5 s. */
async function aroundTime (line: LogLine, signal: AbortSignal): Promise<LogLine[]> {
  const t = Date.parse(line.ts)
  const [before, after] = await Promise.all([
    fetchLogs(new URLSearchParams({ since: isoOf(t - aroundMs), until: line.ts, order: 'desc', limit: String(fleetSide) }), signal),
    fetchLogs(new URLSearchParams({ since: line.ts, until: isoOf(t + aroundMs), order: 'asc', limit: String(fleetSide) }), signal)
  ])
  const seen = new Set<string>()
  return [...before.lines.reverse(), ...after.lines].filter(l => {
    const k = `${l.source}:${l.offset}`
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

export function ContextView ({ line, utc, onClose }: Props) {
  const [tab, setTab] = useState<'source' | 'fleet'>('source')
  const [before, setBefore] = useState(step)
  const [after, setAfter] = useState(step)
  const [lines, setLines] = useState<LogLine[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  useEffect(() => {
    const ac = new AbortController()
    const load = tab === 'source'
      ? sourceWindow(line, before, after, ac.signal)
      : aroundTime(line, ac.signal)
    load.then(ls => { setLines(ls); setError(null) }, err => { if (!ac.signal.aborted) setError(err instanceof ApiError ? err.message : String(err)) })
    return () => ac.abort()
  }, [line, tab, before, after])
  // the line itself in the middle of the view, however much is loaded around it
  useEffect(() => { if (lines !== null) document.querySelector('.ctx-line.anchor')?.scrollIntoView({ block: 'center' }) }, [lines])
  const at = lines?.findIndex(l => l.source === line.source && l.offset === line.offset) ?? -1
  return (
    <div class="overlay" role="dialog" aria-label="context" onClick={e => { if (e.target === e.currentTarget) onClose() }}>
      <div class="panel context-panel">
        <header>
          <div class="tabs">
            <button type="button" class={tab === 'source' ? 'on' : ''} onClick={() => setTab('source')}>same source ({line.host} · {line.service})</button>
            <button type="button" class={tab === 'fleet' ? 'on' : ''} onClick={() => setTab('fleet')}>every machine ±{aroundMs / 1000} s</button>
          </div>
          <button type="button" class="close" aria-label="close" title="close (Esc)" onClick={onClose}>×</button>
        </header>
        {tab === 'source' && <div class="dim ctx-note">{line.path} — {before} lines before and {after} after, by byte offset (other hosts' lines in between are not shown)</div>}
        {tab === 'source' && <button type="button" class="more" disabled={before >= maxContext} onClick={() => setBefore(b => Math.min(maxContext, b + 10))}>▲ 10 more above</button>}
        {error !== null && <div class="field-error">{error}</div>}
        {lines === null && error === null && <div class="dim">loading…</div>}
        <div class="ctx-lines">
          {lines?.map(l => (
            <div key={`${l.source}:${l.offset}`} class={`ctx-line${l.source === line.source && l.offset === line.offset ? ' anchor' : ''}`}>
              <LogRow line={l} utc={utc} matcher={null} selected={false} expanded={false} onClick={() => {}} onContext={() => {}} />
            </div>
          ))}
        </div>
        {tab === 'source' && lines !== null && at >= 0 && <button type="button" class="more" disabled={after >= maxContext} onClick={() => setAfter(a => Math.min(maxContext, a + 10))}>▼ 10 more below</button>}
      </div>
    </div>
  )
}
