// The results: a virtualized list of lines (only those in view are in the DOM), asking for
// the next page as the end comes into view, and reporting whether the reader is at the top
// (the live tail pauses when they are not).
import { useEffect, useRef } from 'preact/hooks'
import type { Matcher } from '../lib/highlight.js'
import type { LogLine } from '../lib/types.js'
import { useVirtualizer } from '../lib/use-virtual.js'
import { LogRow } from './LogRow.js'

interface Props {
  lines: LogLine[]
  utc: boolean
  matcher: Matcher | null
  selected: number
  expanded: Set<string>
  onSelect: (i: number) => void
  onToggle: (line: LogLine) => void
  onContext: (line: LogLine) => void
  onNearEnd: () => void
  onAtTop?: (atTop: boolean) => void
  footer: string
  scrollToTopSignal?: number
}

export const lineKey = (l: LogLine): string => `${l.source}:${l.offset}:${l.ts}`
const rowHeight = 22

export function ResultList (p: Props) {
  const scroller = useRef<HTMLDivElement>(null)
  const v = useVirtualizer({
    count: p.lines.length,
    getScrollElement: () => scroller.current,
    estimateSize: i => p.expanded.has(lineKey(p.lines[i])) ? 300 : rowHeight,
    overscan: 20,
    getItemKey: i => lineKey(p.lines[i])
  })
  const items = v.getVirtualItems()
  const last = items[items.length - 1]
  useEffect(() => {
    if (last !== undefined && last.index >= p.lines.length - 50) p.onNearEnd()
  }, [last?.index, p.lines.length])
  // for measuring: when the first lines of the page were on screen
  useEffect(() => { if (items.length > 0 && performance.getEntriesByName('sluice:first-lines').length === 0) performance.mark('sluice:first-lines') }, [items.length > 0])
  useEffect(() => { if (p.selected >= 0 && p.selected < p.lines.length) v.scrollToIndex(p.selected, { align: 'auto' }) }, [p.selected])
  useEffect(() => { if (p.scrollToTopSignal !== undefined && scroller.current !== null) scroller.current.scrollTop = 0 }, [p.scrollToTopSignal])
  return (
    <div class="results" ref={scroller} onScroll={e => p.onAtTop?.((e.target as HTMLDivElement).scrollTop < 4)} role="log" aria-label="log lines">
      <div style={{ height: `${v.getTotalSize()}px`, position: 'relative', width: '100%' }}>
        {items.map(it => {
          const line = p.lines[it.index]
          return (
            <div key={it.key} data-index={it.index} ref={v.measureElement} class="vrow" style={{ transform: `translateY(${it.start}px)` }}>
              <LogRow
                line={line} utc={p.utc} matcher={p.matcher} selected={it.index === p.selected} expanded={p.expanded.has(lineKey(line))}
                onClick={() => { p.onSelect(it.index); p.onToggle(line) }}
                onContext={() => { p.onSelect(it.index); p.onContext(line) }}
              />
            </div>
          )
        })}
      </div>
      <div class="list-footer">{p.footer}</div>
    </div>
  )
}
