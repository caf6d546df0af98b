// Alerts: what fires now (GET /v1/alerts), what changed (GET /v1/alerts/history), the rules with
// enable/disable, and the form (RuleForm) to create one or edit the one clicked.
import { useCallback, useEffect, useState } from 'preact/hooks'
import { getJson, sendJson, ApiError } from '../lib/api.js'
import { PageNav } from '../components/PageNav.js'
import { ThemeToggle } from '../components/ThemeToggle.js'
import { LoginForm } from '../components/LoginForm.js'
import { RuleForm, type RuleView } from '../components/RuleForm.js'

interface AlertView { rule_id: string, rule: string, severity: string, state: string, service: string, host: string, pid: number, value: number, threshold: number, since: string }
interface HistoryRow { transition_id: string, rule_id: string, rule_name: string, severity: string, service: string, host: string, pid: number, from_state: string, to_state: string, ts: string, value: number, reason: string | null }

function condition (r: Record<string, unknown>): string {
  const scope = [['service', r.service], ['host', r.host]].filter(([, v]) => Array.isArray(v) && v.length > 0).map(([k, v]) => ` · ${String(k)} ${(v as string[]).join(', ')}`).join('')
  return whenOf(r) + scope
}

function whenOf (r: Record<string, unknown>): string {
  const m = r.divide_by !== undefined ? `${String(r.metric)} / ${String(r.divide_by)}` : r.kind === 'log_rate' ? `lines/min${r.level !== undefined ? ` ≥ ${String(r.level)}` : ''}${r.q !== undefined ? ` containing "${String(r.q)}"` : ''}` : String(r.metric ?? '')
  const w = r.kind === 'increase' ? `increase over ${String(r.window)} of ` : ''
  if (r.kind === 'gap') return 'a byte range classed lost'
  if (r.kind === 'no_data') return `no ${String(r.metric)} sample for ${String(r.for)}`
  return `${w}${m} ${String(r.op)} ${String(r.threshold)}${r.for !== undefined ? ` for ${String(r.for)}` : ''}`
}

export function AlertsPage () {
  const [alerts, setAlerts] = useState<AlertView[] | null>(null)
  const [history, setHistory] = useState<HistoryRow[]>([])
  const [rules, setRules] = useState<RuleView[]>([])
  const [waiting, setWaiting] = useState<string[]>([])
  /** the rule the form edits (null: the form creates one) */
  const [editing, setEditing] = useState<RuleView | null>(null)
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

  const toggle = async (r: RuleView): Promise<void> => {
    const { origin: _o, id, ...body } = r
    try { await sendJson('PUT', `/v1/alerts/rules/${encodeURIComponent(id)}`, { ...body, enabled: !r.enabled }); await load() } catch (err) { setPageError(err instanceof ApiError ? err.message : String(err)) }
  }
  const edit = (r: RuleView): void => {
    setEditing(r)
    document.querySelector('.alert-form')?.scrollIntoView({ block: 'nearest' })
  }
  const remove = async (r: RuleView): Promise<void> => {
    try { await sendJson('DELETE', `/v1/alerts/rules/${encodeURIComponent(r.id)}`); await load() } catch (err) { setPageError(err instanceof ApiError ? err.message : String(err)) }
  }

  if (needLogin) return <LoginForm onDone={() => { setNeedLogin(false); void load() }} />
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
                <tr key={r.id} data-rule={r.id} class={`${r.enabled ? '' : 'off'}${editing?.id === r.id ? ' editing' : ''}`}>
                  <td><input type="checkbox" aria-label={`enable ${r.id}`} checked={r.enabled} disabled={r.origin !== 'api'} onChange={() => { void toggle(r) }} /></td>
                  <td class="mono">{r.id}</td><td>{r.origin === 'api' ? <button type="button" class="link rule-name" title="edit this rule" onClick={() => edit(r)}>{r.name}</button> : r.name}{waiting.includes(r.id) && <span class="dim"> · no data yet</span>}</td><td class="mono cond">{condition(r)}</td><td>{String(r.severity ?? 'warning')}</td><td class="dim">{r.origin}</td>
                  <td>{r.origin === 'api' && <><button type="button" class="link" aria-label={`edit ${r.id}`} onClick={() => edit(r)}>edit</button><button type="button" class="link" onClick={() => { void remove(r) }}>delete</button></>}</td>
                </tr>
              ))}</tbody>
            </table>
          )}
        </section>
        <RuleForm editing={editing} onSaved={async () => { setEditing(null); await load() }} onCancel={() => setEditing(null)} onUnauthorized={() => setNeedLogin(true)} />
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
