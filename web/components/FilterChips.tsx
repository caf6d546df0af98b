// The active host, service and level filters as removable chips.
import type { ViewState } from '../lib/url-state.js'

interface Props { state: ViewState, onChange: (next: Partial<ViewState>) => void }

export function FilterChips ({ state, onChange }: Props) {
  const chips: Array<{ label: string, remove: () => void }> = [
    ...state.host.map(h => ({ label: `host: ${h}`, remove: () => onChange({ host: state.host.filter(x => x !== h) }) })),
    ...state.service.map(s => ({ label: `service: ${s}`, remove: () => onChange({ service: state.service.filter(x => x !== s) }) })),
    ...(state.level !== '' ? [{ label: `level ≥ ${state.level}`, remove: () => onChange({ level: '' }) }] : [])
  ]
  if (chips.length === 0) return null
  return (
    <div class="chips" aria-label="filters">
      {chips.map(c => (
        <span class="chip" key={c.label}>{c.label}<button type="button" aria-label={`remove ${c.label}`} title="remove this filter" onClick={c.remove}>×</button></span>
      ))}
      {chips.length > 1 && <button type="button" class="link" onClick={() => onChange({ host: [], service: [], level: '' })}>clear all</button>}
    </div>
  )
}
