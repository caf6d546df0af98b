// How a line reads on screen: time in UTC or local, fields as k=v (like the CLI's text output).
export function formatTime (iso: string, utc: boolean): string {
  const d = new Date(iso)
  if (utc) return iso.replace('T', ' ').replace('Z', '')
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

export function formatFields (fields: Record<string, unknown>): string {
  return Object.entries(fields).map(([k, v]) => {
    if (typeof v === 'string') return `${k}=${/[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v}`
    return `${k}=${JSON.stringify(v)}`
  }).join(' ')
}

export function formatCount (n: number): string {
  return n.toLocaleString('en-US')
}

/** ISO without milliseconds when they are zero, for since/until in the URL */
export function isoOf (ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}
