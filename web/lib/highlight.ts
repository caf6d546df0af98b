// Which parts of a line the search matched, to mark them. Substring search is matched here as
// the API does (case-insensitive with i); an RE2 pattern is tried as a JavaScript RegExp and,
// when JavaScript cannot read it, nothing is marked (the API still filtered correctly).
import type { ViewState } from './url-state.js'

export type Matcher = (text: string) => Array<[number, number]>

export function matcherOf (s: Pick<ViewState, 'q' | 'regex' | 'i' | 'w'>): Matcher | null {
  if (s.q === '') return null
  let re: RegExp
  try {
    if (s.regex) re = new RegExp(s.q, s.i ? 'gi' : 'g')
    else {
      const body = s.q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      re = new RegExp(s.w ? `(?<![A-Za-z0-9])${body}(?![A-Za-z0-9])` : body, s.i ? 'gi' : 'g')
    }
  } catch { return null }
  return text => {
    const out: Array<[number, number]> = []
    re.lastIndex = 0
    for (let m = re.exec(text); m !== null && out.length < 50; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex++; continue }
      out.push([m.index, m.index + m[0].length])
    }
    return out
  }
}
