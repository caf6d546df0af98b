// Minimal glob expansion for tail paths (`*`, `?`, `**`), walking only below the pattern's
// literal prefix. Node 20 has no fs.glob; the shipper needs nothing more than this.
import fs from 'node:fs'
import path from 'node:path'

function toRegExp (pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '*') {
      if (pattern[i + 1] === '*') { re += '.*'; i++; if (pattern[i + 1] === '/') i++ } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

export function expandGlob (pattern: string, maxDepth = 8): string[] {
  const abs = path.resolve(pattern)
  if (!/[*?]/.test(abs)) return fs.existsSync(abs) ? [abs] : []
  const parts = abs.split('/')
  const firstGlob = parts.findIndex(p => /[*?]/.test(p))
  const base = parts.slice(0, firstGlob).join('/') || '/'
  const re = toRegExp(abs)
  const out: string[] = []
  const walk = (dir: string, depth: number): void => {
    if (depth > maxDepth) return
    let entries: fs.Dirent[]
    try { entries = fs.readdirSync(dir, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) walk(p, depth + 1)
      else if (e.isFile() && re.test(p)) out.push(p)
    }
  }
  walk(base, 0)
  return out.sort()
}
