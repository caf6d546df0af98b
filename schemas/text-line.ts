// One log line as one line of text, for every text rendering (the API's text/plain, `sluice
// grep`, `sluice tail`). Keys and values come from the logged payload, so anything that could
// start a new line or drive a terminal is escaped: C0 controls (newline, CR, ESC of ANSI
// sequences…), DEL, C1 controls, the line/paragraph separators and the bidi overrides and
// isolates. Backslashes are kept as they are (paths stay readable): `\n` in the output may
// be a logged backslash-n or an escaped newline, but it is never a line break. Stack traces
// (`stack` fields) are the one exception: printed under the line, each of their lines escaped
// and indented with `    | `, so none can pass for a log line.

// eslint-disable-next-line no-control-regex
const unsafe = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** `s` with every character that could break the line or act on a terminal escaped. */
export function escapeText (s: string): string {
  return s.replace(unsafe, c => {
    const n = named[c]
    if (n !== undefined) return n
    const code = c.charCodeAt(0)
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

export interface TextLine { ts: string, host: string, service: string, level: string, msg: string, fields: Record<string, unknown> }

/** `k=v …` of a line's fields, escaped. `quote`: string values with spaces, quotes or `=` are
 *  JSON-quoted (the API's text/plain, for `curl | grep`); otherwise printed bare (the CLI). */
export function fieldsText (fields: Record<string, unknown>, quote: boolean): string {
  return Object.entries(fields).map(([k, v]) => {
    const val = typeof v === 'string' ? (quote && /[\s"=]/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)
    return `${escapeText(k)}=${escapeText(val ?? 'undefined')}`
  }).join(' ')
}

/** Indent of a stack line under its log line: never mistaken for a log line (which starts with a time). */
export const stackIndent = '    | '

/** A line's fields without their stack traces (a string field named `stack`, at any depth, in
 *  objects and arrays), and those traces as `[path, text]` in field order. */
export function splitStacks (fields: Record<string, unknown>): { fields: Record<string, unknown>, stacks: Array<[string, string]> } {
  const stacks: Array<[string, string]> = []
  const strip = (v: unknown, path: string, depth: number): unknown => {
    // depth-bounded: a pathological nesting is printed as it is rather than walked
    if (v === null || typeof v !== 'object' || depth > 32) return v
    if (Array.isArray(v)) return v.map((x, i) => strip(x, `${path}.${i}`, depth + 1))
    const o: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) {
      const p = path === '' ? k : `${path}.${k}`
      if (k === 'stack' && typeof x === 'string') stacks.push([p, x])
      else o[k] = strip(x, p, depth + 1)
    }
    return o
  }
  const rest = strip(fields, '', 0) as Record<string, unknown>
  return { fields: rest, stacks }
}

/** The stack traces as indented lines, each escaped; a `path:` header when there are several. */
export function stackLines (stacks: Array<[string, string]>): string[] {
  const out: string[] = []
  for (const [path, text] of stacks) {
    if (stacks.length > 1) out.push(`${stackIndent}${escapeText(path)}:`)
    for (const l of text.replace(/\r?\n+$/, '').split(/\r?\n/)) out.push(stackIndent + escapeText(l))
  }
  return out
}

/** `2026-11-22T04:00:00.123Z host service LEVEL msg k=v…` (no final newline), every part
 *  escaped; a stack trace in the fields follows as indented lines (`    | at …`). */
export function formatTextLine (l: TextLine): string {
  const { fields, stacks } = splitStacks(l.fields)
  const kv = fieldsText(fields, true)
  const head = `${escapeText(l.ts)} ${escapeText(l.host)} ${escapeText(l.service)} ${escapeText(l.level.toUpperCase())} ${escapeText(l.msg)}${kv !== '' ? ' ' + kv : ''}`
  return [head, ...stackLines(stacks)].join('\n')
}
