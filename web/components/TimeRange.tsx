// Time range: presets (relative to now) or an absolute from/to (set by zooming the histogram
// or typed as ISO-8601).
import { timePresets, type ViewState } from '../lib/url-state.js'

interface Props { state: ViewState, onChange: (next: Partial<ViewState>) => void }

export function TimeRange ({ state, onChange }: Props) {
  const absolute = state.until !== '' || !(timePresets as readonly string[]).includes(state.since)
  return (
    <div class="time-range" role="group" aria-label="time range">
      {timePresets.map(p => (
        <button type="button" key={p} class={`preset${!absolute && state.since === p ? ' on' : ''}`} aria-pressed={!absolute && state.since === p} onClick={() => onChange({ since: p, until: '' })}>{p}</button>
      ))}
      <input
        class="abs" aria-label="from" title="from: ISO-8601 time or a duration like 90m" value={state.since} size={absolute ? 20 : 5} spellcheck={false}
        onChange={e => onChange({ since: (e.target as HTMLInputElement).value.trim() || '1h' })}
      />
      <span class="dim">→</span>
      <input
        class="abs" aria-label="to" title="to: ISO-8601 time, a duration ago, or empty for now" value={state.until} placeholder="now" size={state.until !== '' ? 20 : 5} spellcheck={false}
        onChange={e => onChange({ until: (e.target as HTMLInputElement).value.trim() })}
      />
    </div>
  )
}
