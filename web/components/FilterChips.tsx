// The active filters as removable chips: hosts, services, minimum level, exclusions (struck
// through), field filters and text exclusions.
import type { ViewState } from '../lib/url-state.js'

interface Props { state: ViewState, onChange: (next: Partial<ViewState>) => void }
interface Chip { label: string, not?: boolean, remove: () => void }

export function FilterChips ({ state, onChange }: Props) {
  const without = <K extends keyof ViewState>(k: K, v: string): Partial<ViewState> => ({ [k]: (state[k] as string[]).filter(x => x !== v) })
  const chips: Chip[] = [
    ...state.host.map(h => ({ label: `host: ${h}`, remove: () => onChange(without('host', h)) })),
    ...state.service.map(s => ({ label: `service: ${s}`, remove: () => onChange(without('service', s)) })),
    ...(state.level !== '' ? [{ label: `level ≥ ${state.level}`, remove: () => onChange({ level: '' }) }] : []),
    ...state.notHost.map(h => ({ label: `host: ${h}`, not: true, remove: () => onChange(without('notHost', h)) })),
    ...state.notService.map(s => ({ label: `service: ${s}`, not: true, remove: () => onChange(without('notService', s)) })),
    ...state.notLevel.map(l => ({ label: `level: ${l}`, not: true, remove: () => onChange(without('notLevel', l)) })),
    ...state.field.map(f => ({ label: `field ${f}`, remove: () => onChange(without('field', f)) })),
    ...state.v.map(v => ({ label: `text: ${v}`, not: true, remove: () => onChange(without('v', v)) }))
  ]
  if (chips.length === 0) return null
  return (
    <div class="chips" aria-label="filters">
      {chips.map(c => (
        <span class={`chip${c.not === true ? ' not' : ''}`} key={`${c.not === true ? '!' : ''}${c.label}`} title={c.not === true ? 'excluded' : undefined}>
          {c.not === true && <span class="not-mark">NOT </span>}{c.label}
          <button type="button" aria-label={`remove ${c.not === true ? 'NOT ' : ''}${c.label}`} title="remove this filter" onClick={c.remove}>×</button>
        </span>
      ))}
      {chips.length > 1 && <button type="button" class="link" onClick={() => onChange({ host: [], service: [], level: '', notHost: [], notService: [], notLevel: [], field: [], v: [] })}>clear all</button>}
    </div>
  )
}
