// One log line as one line of text, for every text rendering (the API's text/plain, `sluice
// grep`, `sluice tail`). Keys and values come from the logged payload, so anything that could
// start a new line or drive a terminal is escaped: C0 controls (newline, CR, ESC of ANSI
// sequences…), DEL, C1 controls, the line/paragraph separators and the bidi overrides and
// isolates. Backslashes are kept as they are (paths stay readable): `\n` in the output may
// be a logged backslash-n or an escaped newline, but it is never a line break.

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

/** `2026-11-22T04:00:00.123Z host service LEVEL msg k=v…` (no newline), every part escaped. */
export function formatTextLine (l: TextLine): string {
  const kv = fieldsText(l.fields, true)
  return `${escapeText(l.ts)} ${escapeText(l.host)} ${escapeText(l.service)} ${escapeText(l.level.toUpperCase())} ${escapeText(l.msg)}${kv !== '' ? ' ' + kv : ''}`
}
