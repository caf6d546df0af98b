// How a line reads on screen: time in UTC or local, fields as k=v (like the CLI's text output).
export function formatTime (iso: string, utc: boolean): string {
  const d = new Date(iso)
  if (utc) return iso.replace('T', ' ').replace('Z', '')
  const p = (n: number, w = 2): string => String(n).padStart(w, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`
}

/** fields as k=v; nested objects as dotted keys (req.method=GET) after the top-level values,
 *  so short facts like responseTime=12 stay in view on a cut line */
export function formatFields (fields: Record<string, unknown>): string {
  const top = Object.entries(fields).filter(([, v]) => v === null || typeof v !== 'object' || Array.isArray(v))
  const nested = Object.entries(fields).filter(([, v]) => v !== null && typeof v === 'object' && !Array.isArray(v))
  fields = Object.fromEntries([...top, ...nested])
  const out: string[] = []
  const walk = (prefix: string, o: Record<string, unknown>, depth: number): void => {
    for (const [k, v] of Object.entries(o)) {
      const key = prefix === '' ? k : `${prefix}.${k}`
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && depth < 3) walk(key, v as Record<string, unknown>, depth + 1)
      else if (typeof v === 'string') out.push(`${key}=${/[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v}`)
      else out.push(`${key}=${JSON.stringify(v)}`)
    }
  }
  walk('', fields, 0)
  return out.join(' ')
}

export function formatCount (n: number): string {
  return n.toLocaleString('en-US')
}

/** ISO without milliseconds when they are zero, for since/until in the URL */
export function isoOf (ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z')
}

/** "1 line", "2 lines", "10,000 lines" */
export function countOf (n: number, what: string): string {
  return `${formatCount(n)} ${what}${n === 1 ? '' : 's'}`
}
