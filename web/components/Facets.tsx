// Facets: the top hosts, services and levels (exact counts) and the detected field keys of the
// current filter and range. Click filters to a value (clicking an active one removes it);
// alt- or shift-click excludes it (not_host, not_service, not_level, !field?).
import { useEffect, useState } from 'preact/hooks'
import { ApiError, fetchFacets } from '../lib/api.js'
import { countOf, formatCount } from '../lib/format.js'
import { filterParams, type ViewState } from '../lib/url-state.js'
import type { Facets as FacetsData, FacetValue, Level } from '../lib/types.js'

interface Props { state: ViewState, ready: boolean, onChange: (next: Partial<ViewState>) => void, onAuth: (err: unknown) => void }

export function Facets ({ state, ready, onChange, onAuth }: Props) {
  const [data, setData] = useState<FacetsData | null>(null)
  const [error, setError] = useState<string | null>(null)
  const key = filterParams(state).toString()
  useEffect(() => {
    if (!ready) return
    const ac = new AbortController()
    fetchFacets(filterParams(state), ac.signal).then(d => { setData(d); setError(null) }, err => {
      if (ac.signal.aborted) return
      onAuth(err)
      setError(err instanceof ApiError ? (err.status === 400 ? '' : err.message) : String(err))
    })
    return () => ac.abort()
  }, [key, ready])
  const toggle = (k: 'host' | 'service', v: string, exclude: boolean): void => {
    const nk = k === 'host' ? 'notHost' : 'notService'
    if (exclude) onChange({ [nk]: state[nk].includes(v) ? state[nk] : [...state[nk], v], [k]: state[k].filter(x => x !== v) })
    else onChange({ [k]: state[k].includes(v) ? state[k].filter(x => x !== v) : [...state[k], v] })
  }
  const addField = (f: string): void => onChange({ field: state.field.includes(f) ? state.field.filter(x => x !== f) : [...state.field, f] })
  if (error !== null) return <aside class="facets"><div class="dim">{error === '' ? 'no facets: the search has a mistake' : `facets unavailable: ${error}`}</div></aside>
  if (data === null) return <aside class="facets"><div class="dim">loading facets…</div></aside>
  return (
    <aside class="facets" aria-label="facets">
      <div class="facet-total">{countOf(data.total, 'line')}</div>
      <div class="dim facet-range">{state.until === '' && /^\d+(ms|s|m|h|d|w)$/.test(state.since) ? `in the last ${state.since}` : 'in this time range'}</div>
      <FacetGroup name="host" values={data.host} active={state.host} onPick={(v, x) => toggle('host', v, x)} />
      <FacetGroup name="service" values={data.service} active={state.service} onPick={(v, x) => toggle('service', v, x)} />
      <FacetGroup name="level" values={data.level} active={state.level === '' ? [] : [state.level]} onPick={(v, x) => x ? onChange({ notLevel: [...state.notLevel.filter(l => l !== v), v] }) : onChange({ level: state.level === v ? '' : v as Level })} hint="click: this level and above; alt-click: not this level" />
      <FacetGroup name="fields" values={data.fields} active={state.field.map(f => f.replace(/\?$/, ''))} onPick={(v, x) => addField(x ? `!${v}?` : `${v}?`)} hint={`keys in ${formatCount(data.sampled)} lines sampled; click: lines that have it, alt-click: lines without it`} />
      <FieldFilterInput onAdd={f => { if (!state.field.includes(f)) onChange({ field: [...state.field, f] }) }} />
      <div class="dim facet-hint">click to filter · alt/shift-click to exclude</div>
    </aside>
  )
}

function FacetGroup ({ name, values, active, onPick, hint }: { name: string, values: FacetValue[], active: string[], onPick: (v: string, exclude: boolean) => void, hint?: string }) {
  const max = values.reduce((m, v) => Math.max(m, v.count), 1)
  return (
    <section class="facet" data-facet={name}>
      <h3 title={hint}>{name}</h3>
      {values.length === 0 && <div class="dim">none</div>}
      {values.map(v => (
        <button type="button" key={v.value} class={`facet-value${active.includes(v.value) ? ' on' : ''}`} data-value={v.value} title={`${v.value}: ${countOf(v.count, 'line')} — click to filter, alt/shift-click to exclude`} onClick={e => onPick(v.value, e.altKey || e.shiftKey)}>
          <span class="bar" style={{ width: `${(100 * v.count / max).toFixed(1)}%` }} />
          <span class={`name${name === 'level' ? ` lvl-${v.value}` : ''}`}>{v.value}</span>
          <span class="count">{formatCount(v.count)}</span>
        </button>
      ))}
    </section>
  )
}

/** A field filter typed by hand, in the API's syntax (responseTime>=500, err.code:ECONNRESET, trace?). */
function FieldFilterInput ({ onAdd }: { onAdd: (f: string) => void }) {
  return (
    <input
      class="field-filter" aria-label="field filter" placeholder="+ e.g. responseTime>=500" spellcheck={false}
      title="path:value, path!:value, path>=N (also > <= <), path? (exists), !path? (absent); Enter adds it"
      onKeyDown={e => {
        const el = e.target as HTMLInputElement
        if (e.key === 'Enter' && el.value.trim() !== '') { onAdd(el.value.trim()); el.value = '' }
      }}
    />
  )
}
