// The search bar: the text (substring `q`, or an RE2 `regex`), its toggles, the filter chips
// and the time range. Typing searches after a short pause; Enter searches at once.
import { useEffect, useRef, useState } from 'preact/hooks'
import type { ApiError } from '../lib/api.js'
import type { ViewState } from '../lib/url-state.js'
import { FilterChips } from './FilterChips.js'
import { TimeRange } from './TimeRange.js'

interface Props {
  state: ViewState
  error: ApiError | null
  onChange: (next: Partial<ViewState>, replace?: boolean) => void
  inputRef: { current: HTMLInputElement | null }
}

const typingPauseMs = 350

export function SearchBar ({ state, error, onChange, inputRef }: Props) {
  const [text, setText] = useState(state.q)
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null)
  useEffect(() => { setText(state.q) }, [state.q])
  const commit = (q: string): void => {
    if (timer.current !== null) clearTimeout(timer.current)
    if (q !== state.q) onChange({ q })
  }
  const textError = error !== null && (error.param === 'q' || error.param === 'regex' || error.param === 'w' || error.param === 'i' || error.param === 'v') ? error : null
  const rangeError = error !== null && (error.param === 'since' || error.param === 'until') ? error : null
  const otherError = error !== null && textError === null && rangeError === null ? error : null
  const toggle = (k: 'regex' | 'i' | 'w', title: string, label: string) => (
    <button type="button" class={`toggle${state[k] ? ' on' : ''}`} aria-pressed={state[k]} title={title} onClick={() => onChange({ [k]: !state[k] })}>{label}</button>
  )
  return (
    <div class="searchbar">
      <div class="search-row">
        <div class={`search-field${textError !== null ? ' invalid' : ''}`}>
          <input
            ref={inputRef}
            type="search"
            placeholder={state.regex ? 'RE2 regular expression, e.g. timeout|refused' : 'Search messages and fields   ( / )'}
            aria-label="search text"
            value={text}
            spellcheck={false}
            onInput={e => {
              const v = (e.target as HTMLInputElement).value
              setText(v)
              if (timer.current !== null) clearTimeout(timer.current)
              timer.current = setTimeout(() => commit(v), typingPauseMs)
            }}
            onKeyDown={e => {
              // Shift+Enter: lines containing the text are excluded instead (grep -v, the API's v)
              if (e.key === 'Enter' && e.shiftKey && text !== '') {
                if (timer.current !== null) clearTimeout(timer.current)
                onChange({ v: state.v.includes(text) ? state.v : [...state.v, text], q: '' })
                setText('')
              } else if (e.key === 'Enter') commit(text)
              if (e.key === 'Escape') (e.target as HTMLInputElement).blur()
            }}
          />
          {toggle('regex', 'Regular expression (RE2)', '.*')}
          {toggle('i', 'Case-insensitive', 'Aa')}
          {toggle('w', 'Whole words only', 'ab|')}
        </div>
        <TimeRange state={state} onChange={onChange} />
      </div>
      {textError !== null && <div class="field-error" role="alert" data-param={textError.param}>{textError.message}</div>}
      {rangeError !== null && <div class="field-error" role="alert" data-param={rangeError.param}>{rangeError.message}</div>}
      {otherError !== null && <div class="field-error" role="alert">{otherError.message}</div>}
      <FilterChips state={state} onChange={onChange} />
    </div>
  )
}
