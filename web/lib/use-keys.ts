// The Explorer's keyboard: / search, j/k move, Enter expands, c context, t live tail, u UTC,
// ? help, Esc closes the overlay on top. Keys typed into a field are left alone.
import { useEffect } from 'preact/hooks'
import type { LogLine } from './types.js'

export interface Keys {
  lines: LogLine[]
  selected: number
  help: boolean
  contextOf: LogLine | null
  tail: boolean
  searchRef: { current: HTMLInputElement | null }
  setHelp: (f: boolean | ((h: boolean) => boolean)) => void
  setContextOf: (l: LogLine | null) => void
  setSelected: (f: (i: number) => number) => void
  toggle: (l: LogLine) => void
  toggleTail: () => void
  toggleUtc: () => void
}

export function useKeys (k: Keys): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      const t = e.target as HTMLElement
      const typing = t.tagName === 'INPUT' || t.tagName === 'TEXTAREA'
      if (e.key === 'Escape') { if (k.help) k.setHelp(false); else if (k.contextOf !== null) k.setContextOf(null); return }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return
      const cur = k.lines[k.selected]
      if (e.key === '/') { e.preventDefault(); k.searchRef.current?.focus(); k.searchRef.current?.select() }
      else if (e.key === 'j') k.setSelected(i => Math.min(k.lines.length - 1, i + 1))
      else if (e.key === 'k') k.setSelected(i => Math.max(0, i - 1))
      else if (e.key === 'Enter' && cur !== undefined && t.tagName !== 'BUTTON' && t.tagName !== 'A') k.toggle(cur)
      else if (e.key === 'c' && cur !== undefined) k.setContextOf(cur)
      else if (e.key === 't') k.toggleTail()
      else if (e.key === 'u') k.toggleUtc()
      else if (e.key === '?') k.setHelp(h => !h)
    }
    addEventListener('keydown', onKey)
    return () => removeEventListener('keydown', onKey)
  }, [k.lines, k.selected, k.help, k.contextOf, k.tail])
}
