// The header of the pages beside the Explorer (Processes, Heatmap): brand, page links, the
// service/host filters and time presets they share, the page's own controls, the theme toggle.
import type { ComponentChildren } from 'preact'
import { PageNav } from './PageNav.js'
import { ThemeToggle } from './ThemeToggle.js'

const presets = ['15m', '1h', '6h', '24h', '7d']
/** a comma-separated input as its values (empty ones dropped) */
const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(s => s !== '')

export interface PageHeaderProps {
  params: URLSearchParams
  update: (change: Record<string, string | string[] | null>) => void
  /** the page's controls before the shared filters */
  lead?: ComponentChildren
  /** the page's controls after them */
  children?: ComponentChildren
}

export function PageHeader ({ params, update, lead, children }: PageHeaderProps) {
  const since = params.get('since') ?? '1h'
  const until = params.get('until') ?? ''
  return (
    <header class="top">
      <a class="brand" href="/">sluice</a>
      <PageNav />
      <div class="page-filters">
        {lead}
        <input aria-label="service" placeholder="service, …" value={params.getAll('service').join(',')} onChange={e => update({ service: list((e.target as HTMLInputElement).value) })} />
        <input aria-label="host" placeholder="host, …" value={params.getAll('host').join(',')} onChange={e => update({ host: list((e.target as HTMLInputElement).value) })} />
        <div class="time-range" role="group" aria-label="time range">
          {presets.map(p => <button type="button" key={p} class={`preset${until === '' && since === p ? ' on' : ''}`} onClick={() => update({ since: p, until: null })}>{p}</button>)}
        </div>
        {children}
      </div>
      <div class="top-actions"><ThemeToggle /></div>
    </header>
  )
}
