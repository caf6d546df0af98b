// The results: a virtualized list of lines (only those in view are in the DOM), asking for
// the next page as the end comes into view, and reporting whether the reader is at the top
// (the live tail pauses when they are not). Missing ranges, when given, sit between the lines
// around them as rows of their own (GapRow); selection and keys still count lines only.
import { useEffect, useMemo, useRef } from 'preact/hooks'
import { interleave, type ShownGap } from '../lib/gap-rows.js'
import type { Matcher } from '../lib/highlight.js'
import type { LogLine } from '../lib/types.js'
import { useVirtualizer } from '../lib/use-virtual.js'
import { LogRow } from './LogRow.js'
import { GapRow } from './GapRow.js'

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
  /** missing ranges to place between the lines (the list's order and whether more pages follow place them) */
  gaps?: ShownGap[]
  order?: 'asc' | 'desc'
  more?: boolean
}

export const lineKey = (l: LogLine): string => `${l.source}:${l.offset}:${l.ts}`
const rowHeight = 22
const noGaps: ShownGap[] = []

export function ResultList (p: Props) {
  const scroller = useRef<HTMLDivElement>(null)
  const gaps = p.gaps ?? noGaps
  const entries = useMemo(() => interleave(p.lines, gaps, p.order ?? 'desc', p.more ?? false), [p.lines, gaps, p.order, p.more])
  /** the row of each line (they differ once gap rows are in) */
  const rowOf = useMemo(() => {
    const at: number[] = []
    entries.forEach((e, i) => { if ('line' in e) at[e.index] = i })
    return at
  }, [entries])
  const v = useVirtualizer({
    count: entries.length,
    getScrollElement: () => scroller.current,
    estimateSize: i => { const e = entries[i]; return 'gap' in e ? rowHeight + 6 : p.expanded.has(lineKey(e.line)) ? 300 : rowHeight },
    overscan: 20,
    getItemKey: i => { const e = entries[i]; return 'gap' in e ? e.gap.key : lineKey(e.line) }
  })
  const items = v.getVirtualItems()
  const last = items[items.length - 1]
  useEffect(() => {
    if (last !== undefined && last.index >= entries.length - 50) p.onNearEnd()
  }, [last?.index, entries.length])
  // for measuring: when the first lines of the page were on screen
  useEffect(() => { if (items.length > 0 && performance.getEntriesByName('sluice:first-lines').length === 0) performance.mark('sluice:first-lines') }, [items.length > 0])
  useEffect(() => { if (p.selected >= 0 && p.selected < p.lines.length) v.scrollToIndex(rowOf[p.selected] ?? p.selected, { align: 'auto' }) }, [p.selected])
  useEffect(() => { if (p.scrollToTopSignal !== undefined && scroller.current !== null) scroller.current.scrollTop = 0 }, [p.scrollToTopSignal])
  return (
    <div class="results" ref={scroller} onScroll={e => p.onAtTop?.((e.target as HTMLDivElement).scrollTop < 4)} role="log" aria-label="log lines">
      <div style={{ height: `${v.getTotalSize()}px`, position: 'relative', width: '100%' }}>
        {items.map(it => {
          const e = entries[it.index]
          if ('gap' in e) {
            return (
              <div key={it.key} data-index={it.index} ref={v.measureElement} class="vrow" style={{ transform: `translateY(${it.start}px)` }}>
                <GapRow gap={e.gap} utc={p.utc} />
              </div>
            )
          }
          const { line, index } = e
          return (
            <div key={it.key} data-index={it.index} ref={v.measureElement} class="vrow" style={{ transform: `translateY(${it.start}px)` }}>
              <LogRow
                line={line} utc={p.utc} matcher={p.matcher} selected={index === p.selected} expanded={p.expanded.has(lineKey(line))}
                onClick={() => { p.onSelect(index); p.onToggle(line) }}
                onContext={() => { p.onSelect(index); p.onContext(line) }}
              />
            </div>
          )
        })}
      </div>
      <div class="list-footer">{p.footer}</div>
    </div>
  )
}
