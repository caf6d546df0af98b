// The rule form of the Alerts page: creates a rule (POST), or edits the one given (PUT, with the
// fields the form does not show — labels, message, webhook… — kept as the API listed them). It
// sends what was typed, nothing coerced or pre-checked: the API's 400 message is shown word for
// word next to the first field it names (under the form when that field is not on it).
import { useLayoutEffect, useState } from 'preact/hooks'
import { sendJson, ApiError } from '../lib/api.js'

export type RuleView = Record<string, unknown> & { id: string, name: string, enabled: boolean, origin: string, kind: string }

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

/** the fields a 400 names, in its order ("invalid alert rule: 'name' must be …; 'threshold' must be …") */
function fieldsNamed (message: string): string[] {
  if (!message.startsWith('invalid alert rule: ')) return []
  return [...message.matchAll(/(?:^invalid alert rule: |; )'([a-z_]+)'/g)].map(m => m[1])
}

interface Props { editing: RuleView | null, onSaved: () => Promise<void>, onCancel: () => void, onUnauthorized: () => void }

export function RuleForm ({ editing, onSaved, onCancel, onUnauthorized }: Props) {
  const [draft, setDraft] = useState<Draft>(blank)
  const [formError, setFormError] = useState<string | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  // in the render that shows the rule, so nothing typed right after the click is overwritten
  useLayoutEffect(() => {
    setDraft(editing === null ? blank : draftOf(editing))
    setFormError(null)
    if (editing !== null) setNotice(null)
  }, [editing])

  const create = async (e: Event): Promise<void> => {
    e.preventDefault()
    setFormError(null); setNotice(null)
    const edited = editing ?? undefined
    try {
      const res = edited === undefined
        ? await sendJson<{ rule: RuleView, warnings?: Array<{ message: string }> }>('POST', '/v1/alerts/rules', bodyOf(draft))
        : await sendJson<{ rule: RuleView, warnings?: Array<{ message: string }> }>('PUT', `/v1/alerts/rules/${encodeURIComponent(edited.id)}`, editedBody(edited, draft))
      setNotice(`${edited === undefined ? 'created' : 'saved'} ${res.rule.id}${res.warnings !== undefined && res.warnings.length > 0 ? ` — ${res.warnings.map(w => w.message).join('; ')}` : ''}`)
      setDraft(blank)
      await onSaved()
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onUnauthorized()
      else setFormError(err instanceof ApiError ? err.message : String(err))
    }
  }
  // the 400 goes next to the field it names when the form shows that field, else under the form
  // (every field it names is outlined)
  const shown = fieldsOf(draft.kind)
  const named = new Set(formError === null ? [] : fieldsNamed(formError).filter(f => shown.has(f)))
  const errorAt = named.size > 0 ? [...named][0] : null
  const fieldError = (k: keyof Draft) => errorAt === k && <div class="field-error form-error af-error" role="alert">{formError}</div>
  const input = (k: keyof Draft, label: string, placeholder = '', size = 10) => (
    <label class={`af${named.has(k) ? ' invalid' : ''}`}><span>{label}</span><input aria-label={label} aria-invalid={named.has(k)} size={size} placeholder={placeholder} value={draft[k]} disabled={k === 'id' && editing !== null} onInput={e => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })} />{fieldError(k)}</label>
  )
  const select = (k: keyof Draft, label: string, options: string[]) => (
    <label class={`af${named.has(k) ? ' invalid' : ''}`}><span>{label}</span><select aria-label={label} value={draft[k]} onChange={e => setDraft({ ...draft, [k]: (e.target as HTMLSelectElement).value })}>{options.map(o => <option key={o} value={o}>{o === '' ? '—' : o}</option>)}</select>{fieldError(k)}</label>
  )
  const cancel = (): void => { setDraft(blank); setFormError(null); onCancel() }
  return (
    <section>
      <h2>{editing === null ? 'New rule' : <>Edit rule <span class="mono">{editing.id}</span></>}</h2>
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
  )
}
