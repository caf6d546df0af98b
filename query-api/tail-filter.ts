// Filters of /v1/tail, applied in Node to each line as it streams by. Only plain substring,
// set-membership and level comparisons run here; user regexes are never run in Node.
import { levelNum, type Level } from '../schemas/records.js'
import type { LogLine } from './search.js'

export interface TailFilter { q?: string, i: boolean, hosts: string[], services: string[], level?: Level }

export function compileFilter (f: TailFilter): (l: LogLine, fieldsJson: string) => boolean {
  const hosts = f.hosts.length > 0 ? new Set(f.hosts) : null
  const services = f.services.length > 0 ? new Set(f.services) : null
  const min = f.level !== undefined ? levelNum[f.level] : 0
  const q = f.q !== undefined && f.q !== '' ? (f.i ? f.q.toLowerCase() : f.q) : null
  return (l, fieldsJson) => {
    if (hosts !== null && !hosts.has(l.host)) return false
    if (services !== null && !services.has(l.service)) return false
    if (min > 0 && (levelNum[l.level as Level] ?? 0) < min) return false
    if (q !== null) {
      if (f.i) return l.msg.toLowerCase().includes(q) || fieldsJson.toLowerCase().includes(q)
      return l.msg.includes(q) || fieldsJson.includes(q)
    }
    return true
  }
}
