// A Preact binding for @tanstack/virtual-core: only the rows in view (plus overscan) exist in
// the DOM, each measured once rendered, so 100,000 lines scroll like 100.
import { useLayoutEffect, useReducer, useState } from 'preact/hooks'
import { Virtualizer, elementScroll, observeElementOffset, observeElementRect, type VirtualizerOptions } from '@tanstack/virtual-core'

type Options = Pick<VirtualizerOptions<HTMLDivElement, HTMLDivElement>, 'count' | 'getScrollElement' | 'estimateSize' | 'overscan' | 'getItemKey'>

export function useVirtualizer (opts: Options): Virtualizer<HTMLDivElement, HTMLDivElement> {
  const [, rerender] = useReducer((n: number) => n + 1, 0)
  const resolved: VirtualizerOptions<HTMLDivElement, HTMLDivElement> = {
    observeElementRect,
    observeElementOffset,
    scrollToFn: elementScroll,
    ...opts,
    onChange: () => { rerender(undefined) }
  }
  const [v] = useState(() => new Virtualizer<HTMLDivElement, HTMLDivElement>(resolved))
  v.setOptions(resolved)
  useLayoutEffect(() => v._didMount(), [])
  useLayoutEffect(() => { v._willUpdate() })
  return v
}
