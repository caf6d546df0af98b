// One line of the timeline: time, level, host, service, message and fields as k=v, the
// searched text marked. Expanded, it shows the line's full JSON with copy and context actions.
import type { ComponentChildren } from 'preact'
import { useState } from 'preact/hooks'
import { formatFields, formatTime } from '../lib/format.js'
import type { Matcher } from '../lib/highlight.js'
import type { LogLine } from '../lib/types.js'

interface Props {
  line: LogLine
  utc: boolean
  matcher: Matcher | null
  selected: boolean
  expanded: boolean
  onClick: () => void
  onContext: () => void
}

export function Marked ({ text, matcher }: { text: string, matcher: Matcher | null }) {
  if (matcher === null) return <>{text}</>
  const spans = matcher(text)
  if (spans.length === 0) return <>{text}</>
  const out: ComponentChildren[] = []
  let at = 0
  spans.forEach(([a, b], i) => {
    if (a > at) out.push(text.slice(at, a))
    out.push(<mark key={i}>{text.slice(a, b)}</mark>)
    at = b
  })
  if (at < text.length) out.push(text.slice(at))
  return <>{out}</>
}

export function LogRow ({ line, utc, matcher, selected, expanded, onClick, onContext }: Props) {
  const fields = formatFields(line.fields)
  return (
    <div class={`row row-${line.level}${selected ? ' selected' : ''}${expanded ? ' expanded' : ''}${line.context === true ? ' ctx' : ''}`}>
      <div class="line" onClick={onClick} title="click to expand (Enter)">
        <span class="ts">{formatTime(line.ts, utc)}</span>
        <span class={`lvl lvl-${line.level}`}>{line.level.toUpperCase()}</span>
        <span class="host">{line.host}</span>
        <span class="svc">{line.service}</span>
        <span class="msg"><Marked text={line.msg.replace(/\n/g, ' ⏎ ')} matcher={matcher} />{fields !== '' && <span class="fields"> <Marked text={fields} matcher={matcher} /></span>}</span>
        <button type="button" class="row-ctx" title="show context: the lines around this one in the same source (c)" onClick={e => { e.stopPropagation(); onContext() }}>context</button>
      </div>
      {expanded && <LineDetail line={line} onContext={onContext} />}
    </div>
  )
}

function LineDetail ({ line, onContext }: { line: LogLine, onContext: () => void }) {
  const [copied, setCopied] = useState(false)
  const json = JSON.stringify(line, null, 2)
  const copy = async (): Promise<void> => {
    try { await navigator.clipboard.writeText(json) } catch {
      // clipboard needs a secure context; fall back to selecting the text
      const ta = document.createElement('textarea'); ta.value = json; document.body.appendChild(ta); ta.select(); document.execCommand('copy'); ta.remove()
    }
    setCopied(true)
    setTimeout(() => setCopied(false), 1500)
  }
  return (
    <div class="detail">
      <div class="detail-actions">
        <button type="button" onClick={() => { void copy() }}>{copied ? 'copied ✓' : 'copy JSON'}</button>
        <button type="button" onClick={onContext}>show context</button>
        <span class="dim">{line.path} @ byte {line.offset}{line.flags.length > 0 ? ` · flags: ${line.flags.join(', ')}` : ''}</span>
      </div>
      <pre class="json">{json}</pre>
    </div>
  )
}
