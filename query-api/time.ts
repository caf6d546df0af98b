// Time parameters: relative durations (`15m`, `2h`, `7d`, `30s`) meaning "that long ago",
// ISO-8601 instants, or epoch milliseconds.
const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }

export function parseDurationMs (text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim())
  if (m === null) return null
  return Math.round(Number(m[1]) * units[m[2]])
}

/** Returns epoch ms, or null when the text is neither a duration, an ISO time nor epoch ms. */
export function parseTime (text: string, now: number): number | null {
  const t = text.trim()
  if (t === 'now') return now
  const d = parseDurationMs(t)
  if (d !== null) return now - d
  if (/^\d{12,14}$/.test(t)) return Number(t)
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(t) || t.length === 10 ? t : `${t}Z`
    const ms = Date.parse(withZone.replace(' ', 'T'))
    return Number.isNaN(ms) ? null : ms
  }
  return null
}
