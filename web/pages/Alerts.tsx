// Alerts: what fires now (GET /v1/alerts), what changed (GET /v1/alerts/history), the rules with
// enable/disable and a form to create one or edit one (click the rule: PUT with the fields the
// form does not show kept). The form sends what was typed, nothing coerced or pre-checked: the
// API's 400 message is shown as the API wrote it, next to the first field it names.
import { useCallback, useEffect, useState } from 'preact/hooks'
import { getJson, sendJson, ApiError } from '../lib/api.js'
import { PageNav } from '../components/PageNav.js'
import { ThemeToggle } from '../components/ThemeToggle.js'
import { LoginForm } from '../components/LoginForm.js'

interface AlertView { rule_id: string, rule: string, severity: string, state: string, service: string, host: string, pid: number, value: number, threshold: number, since: string }
interface HistoryRow { transition_id: string, rule_id: string, rule_name: string, severity: string, service: string, host: string, pid: number, from_state: string, to_state: string, ts: string, value: number, reason: string | null }
type RuleView = Record<string, unknown> & { id: string, name: string, enabled: boolean, origin: string, kind: string }

const blank = { id: '', name: '', kind: 'threshold', metric: '', divide_by: '', op: '>', threshold: '', for: '', window: '', level: '', q: '', severity: 'warning', service: '', host: '' }
type Draft = typeof blank

/** the form's fields shown for a kind (a field hidden after a change of kind is not sent) */
function fieldsOf (kind: string): Set<string> {
  return new Set(['name', 'id', 'kind', 'severity', 'service', 'host',
    ...(kind !== 'gap' ? ['for'] : []),
    ...(kind === 'threshold' || kind === 'increase' || kind === 'no_data' ? ['metric'] : []),
    ...(kind === 'threshold' ? ['divide_by'] : []), ...(kind === 'log_rate' ? ['level', 'q'] : []),
    ...(kind === 'increase' ? ['window'] : []), ...(kind !== 'no_data' && kind !== 'gap' ? ['op', 'threshold'] : [])])
}

/** The rule body as typed: empty inputs left out; a number where one was typed, else the text (the API says what is wrong). */
function bodyOf (d: Draft): Record<string, unknown> {
  const b: Record<string, unknown> = {}
  const shown = fieldsOf(d.kind)
  for (const [k, v] of Object.entries(d)) {
    const t = v.trim()
    if (t === '' || !shown.has(k)) continue
    if (k === 'threshold') b[k] = t !== '' && Number.isFinite(Number(t)) ? Number(t) : t
    else if (k === 'service' || k === 'host') b[k] = t.split(',').map(s => s.trim()).filter(s => s !== '')
    else b[k] = t
  }
  if (b.name === undefined) b.name = ''
  return b
}

/** the form's fields filled from a rule as the API lists it */
function draftOf (r: RuleView): Draft {
  const d: Draft = { ...blank }
  for (const k of Object.keys(blank) as Array<keyof Draft>) {
    const v = r[k]
    if (v === undefined || v === null) continue
    d[k] = Array.isArray(v) ? v.join(', ') : String(v)
  }
  return d
}

/** The replacement body: the rule's fields the form does not show (labels, message, webhook, …), then what the form holds. */
function editedBody (r: RuleView, d: Draft): Record<string, unknown> {
  const kept: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(r)) if (k !== 'origin' && !(k in blank)) kept[k] = v
  const { id: _id, ...typed } = bodyOf(d)
  return { ...kept, ...typed }
}

/** the form field a 400 names first ('threshold' in "invalid alert rule: 'threshold' must be …") */
function fieldOf (message: string): string | null {
  return /^invalid alert rule: '([a-z_]+)'/.exec(message)?.[1] ?? null
}

function condition (r: Record<string, unknown>): string {
  const scope = [['service', r.service], ['host', r.host]].filter(([, v]) => Array.isArray(v) && v.length > 0).map(([k, v]) => ` · ${String(k)} ${(v as string[]).join(', ')}`).join('')
  return whenOf(r) + scope
}

function whenOf (r: Record<string, unknown>): string {
  const m = r.divide_by !== undefined ? `${String(r.metric)} / ${String(r.divide_by)}` : r.kind === 'log_rate' ? `lines/min${r.level !== undefined ? ` ≥ ${String(r.level)}` : ''}${r.q !== undefined ? ` containing "${String(r.q)}"` : ''}` : String(r.metric ?? '')
  const w = r.kind === 'increase' ? `increase over ${String(r.window)} of ` : ''
  if (r.kind === 'no_data') return `no ${String(r.metric)} sample for ${String(r.for)}`
  return `${w}${m} ${String(r.op)} ${String(r.threshold)}${r.for !== undefined ? ` for ${String(r.for)}` : ''}`
}

export function AlertsPage () {
  const [alerts, setAlerts] = useState<AlertView[] | null>(null)
  const [history, setHistory] = useState<HistoryRow[]>([])
  const [rules, setRules] = useState<RuleView[]>([])
  const [waiting, setWaiting] = useState<string[]>([])
  const [draft, setDraft] = useState<Draft>(blank)
  const [formError, setFormError] = useState<string | null>(null)
  /** the id of the rule the form edits (null: the form creates one) */
  const [editing, setEditing] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [pageError, setPageError] = useState<string | null>(null)
  const [needLogin, setNeedLogin] = useState(false)

  const load = useCallback(async () => {
    try {
      const [a, h, r] = await Promise.all([
        getJson<{ alerts: AlertView[] }>('/v1/alerts', new URLSearchParams()),
        getJson<{ transitions: HistoryRow[] }>('/v1/alerts/history', new URLSearchParams({ limit: '50', since: '24h' })),
        getJson<{ rules: RuleView[], waiting_for_data: string[] }>('/v1/alerts/rules', new URLSearchParams())
      ])
      setAlerts(a.alerts); setHistory(h.transitions); setRules(r.rules); setWaiting(r.waiting_for_data); setPageError(null)
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setNeedLogin(true)
      else setPageError(err instanceof ApiError && err.status === 404 ? 'alerting is off on this server (SLUICE_ALERTS=0)' : String((err as Error).message))
    }
  }, [])
  useEffect(() => {
    void load()
    const t = setInterval(() => { void load() }, 5000)
    return () => clearInterval(t)
  }, [])

  const create = async (e: Event): Promise<void> => {
    e.preventDefault()
    setFormError(null); setNotice(null)
    const edited = editing === null ? undefined : rules.find(r => r.id === editing)
    try {
      const res = edited === undefined
        ? await sendJson<{ rule: RuleView, warnings?: Array<{ message: string }> }>('POST', '/v1/alerts/rules', bodyOf(draft))
        : await sendJson<{ rule: RuleView, warnings?: Array<{ message: string }> }>('PUT', `/v1/alerts/rules/${encodeURIComponent(edited.id)}`, editedBody(edited, draft))
      setNotice(`${edited === undefined ? 'created' : 'saved'} ${res.rule.id}${res.warnings !== undefined && res.warnings.length > 0 ? ` — ${res.warnings.map(w => w.message).join('; ')}` : ''}`)
      setDraft(blank)
      setEditing(null)
      await load()
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setNeedLogin(true)
      else setFormError(err instanceof ApiError ? err.message : String(err))
    }
  }
  const toggle = async (r: RuleView): Promise<void> => {
    const { origin: _o, id, ...body } = r
    try { await sendJson('PUT', `/v1/alerts/rules/${encodeURIComponent(id)}`, { ...body, enabled: !r.enabled }); await load() } catch (err) { setPageError(err instanceof ApiError ? err.message : String(err)) }
  }
  const edit = (r: RuleView): void => {
    setEditing(r.id); setDraft(draftOf(r)); setFormError(null); setNotice(null)
    document.querySelector('.alert-form')?.scrollIntoView({ block: 'nearest' })
  }
  const cancel = (): void => { setEditing(null); setDraft(blank); setFormError(null) }
  const remove = async (r: RuleView): Promise<void> => {
    try { await sendJson('DELETE', `/v1/alerts/rules/${encodeURIComponent(r.id)}`); await load() } catch (err) { setPageError(err instanceof ApiError ? err.message : String(err)) }
  }

  if (needLogin) return <LoginForm onDone={() => { setNeedLogin(false); void load() }} />
  // the 400 goes next to the field it names when the form shows that field, else under the form
  const named = formError === null ? null : fieldOf(formError)
  const shown = fieldsOf(draft.kind)
  const errorAt = named !== null && shown.has(named) ? named : null
  const fieldError = (k: keyof Draft) => errorAt === k && <div class="field-error form-error af-error" role="alert">{formError}</div>
  const input = (k: keyof Draft, label: string, placeholder = '', size = 10) => (
    <label class={`af${errorAt === k ? ' invalid' : ''}`}><span>{label}</span><input aria-label={label} aria-invalid={errorAt === k} size={size} placeholder={placeholder} value={draft[k]} disabled={k === 'id' && editing !== null} onInput={e => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })} />{fieldError(k)}</label>
  )
  const select = (k: keyof Draft, label: string, options: string[]) => (
    <label class={`af${errorAt === k ? ' invalid' : ''}`}><span>{label}</span><select aria-label={label} value={draft[k]} onChange={e => setDraft({ ...draft, [k]: (e.target as HTMLSelectElement).value })}>{options.map(o => <option key={o} value={o}>{o === '' ? '—' : o}</option>)}</select>{fieldError(k)}</label>
  )
  const own = rules.filter(r => r.origin !== 'builtin')
  const builtins = rules.filter(r => r.origin === 'builtin')
  return (
    <div class="app page">
      <header class="top">
        <a class="brand" href="/">sluice</a>
        <PageNav />
        <div class="page-filters" />
        <div class="top-actions"><ThemeToggle /></div>
      </header>
      <div class="page-body alerts-page">
        {pageError !== null && <div class="field-error">{pageError}</div>}
        <section>
          <h2>Firing and pending</h2>
          {alerts === null ? <div class="dim">loading…</div> : alerts.length === 0 ? <div class="dim quiet">Nothing firing or pending.</div> : (
            <table class="grid alerts-now">
              <thead><tr><th>state</th><th>rule</th><th>group</th><th>value</th><th>threshold</th><th>since</th></tr></thead>
              <tbody>{alerts.map(a => (
                <tr key={`${a.rule_id}/${a.host}/${a.service}/${a.pid}`} class={`st-${a.state} sev-${a.severity}`} data-rule={a.rule_id}>
                  <td><span class="badge">{a.state}</span></td><td>{a.rule}</td><td>{a.host}/{a.service} pid {a.pid}</td><td>{Number(a.value.toPrecision(4))}</td><td>{a.threshold}</td><td>{a.since.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
        </section>
        <section>
          <h2>Rules</h2>
          {own.length === 0 ? <div class="dim quiet">No rules yet: create one below.</div> : (
            <table class="grid rules">
              <thead><tr><th>on</th><th>id</th><th>name</th><th>condition</th><th>severity</th><th>source</th><th /></tr></thead>
              <tbody>{own.map(r => (
                <tr key={r.id} data-rule={r.id} class={`${r.enabled ? '' : 'off'}${editing === r.id ? ' editing' : ''}`}>
                  <td><input type="checkbox" aria-label={`enable ${r.id}`} checked={r.enabled} disabled={r.origin !== 'api'} onChange={() => { void toggle(r) }} /></td>
                  <td class="mono">{r.id}</td><td>{r.origin === 'api' ? <button type="button" class="link rule-name" title="edit this rule" onClick={() => edit(r)}>{r.name}</button> : r.name}{waiting.includes(r.id) && <span class="dim"> · no data yet</span>}</td><td class="mono cond">{condition(r)}</td><td>{String(r.severity ?? 'warning')}</td><td class="dim">{r.origin}</td>
                  <td>{r.origin === 'api' && <><button type="button" class="link" aria-label={`edit ${r.id}`} onClick={() => edit(r)}>edit</button><button type="button" class="link" onClick={() => { void remove(r) }}>delete</button></>}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
        </section>
        <section>
          <h2>{editing === null ? 'New rule' : <>Edit rule <span class="mono">{editing}</span></>}</h2>
          <form class="alert-form" onSubmit={e => { void create(e) }}>
            <div class="af-row">
              {input('name', 'name', 'heap near its limit', 22)}
              {input('id', 'id', 'optional', 12)}
              {select('kind', 'kind', ['threshold', 'increase', 'log_rate', 'no_data', 'gap'])}
              {select('severity', 'severity', ['info', 'warning', 'critical'])}
            </div>
            <div class="af-row">
              {draft.kind !== 'log_rate' && draft.kind !== 'gap' && input('metric', 'metric', 'heap_used', 14)}
              {draft.kind === 'threshold' && input('divide_by', 'divide by', 'heap_limit', 12)}
              {draft.kind === 'log_rate' && select('level', 'level', ['', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'])}
              {draft.kind === 'log_rate' && input('q', 'message contains', 'timeout', 14)}
              {draft.kind === 'increase' && input('window', 'window', '5m', 5)}
              {draft.kind !== 'no_data' && draft.kind !== 'gap' && select('op', 'op', ['>', '>=', '<', '<='])}
              {draft.kind !== 'no_data' && draft.kind !== 'gap' && input('threshold', 'threshold', '0.9', 8)}
              {draft.kind !== 'gap' && input('for', 'for', '5m', 5)}
              {input('service', 'services', 'any', 10)}
              {input('host', 'hosts', 'any', 10)}
              <button type="submit" class="primary">{editing === null ? 'create rule' : 'save changes'}</button>
              {editing !== null && <button type="button" onClick={cancel}>cancel</button>}
            </div>
            {formError !== null && errorAt === null && <div class="field-error form-error" role="alert">{formError}</div>}
            {notice !== null && <div class="notice">{notice}</div>}
          </form>
        </section>
        <section>
          <h2>Recent transitions <span class="dim">(24 h)</span></h2>
          {history.length === 0 ? <div class="dim quiet">No transitions in the last 24 hours.</div> : (
            <table class="grid history">
              <thead><tr><th>time</th><th>rule</th><th>group</th><th>change</th><th>value</th></tr></thead>
              <tbody>{history.map(h => (
                <tr key={h.transition_id}><td class="mono">{h.ts.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td><td>{h.rule_name}</td><td>{h.host}/{h.service} pid {h.pid}</td><td>{h.from_state} → <b>{h.to_state}</b>{h.reason !== null ? ` (${h.reason})` : ''}</td><td>{Number(h.value.toPrecision(4))}</td></tr>
              ))}</tbody>
            </table>
          )}
        </section>
        <section>
          <h2>Built-in Node rules</h2>
          <p class="dim">Read-only. {builtins.length > 0 ? 'They are on (SLUICE_ALERT_DEFAULTS=1).' : <>Off on this server: start it with <code>SLUICE_ALERT_DEFAULTS=1</code> to turn them on.</>}</p>
          <ul class="builtins">
            {(builtins.length > 0 ? builtins.map(r => `${r.name}: ${condition(r)}`) : ['V8 heap above 90% of its limit: heap_used / heap_limit > 0.9 for 5m', 'open file descriptors above 80% of the limit: fds / fd_limit > 0.8 for 1m', 'event-loop delay p99 above 1 s: eventloop_delay_p99_ms > 1000 for 1m']).map(t => <li key={t}>{t}</li>)}
          </ul>
        </section>
      </div>
    </div>
  )
}
