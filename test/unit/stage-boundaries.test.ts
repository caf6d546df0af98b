// The stage rule: transport/, shipper/, collector/, query-api/, alerts/ and web/ never import each
// other; schemas/ and platform/ import none of them; nothing here imports cli/, bench/ or test/
// (only cli/ composes roles). Every import, static, re-export or dynamic, is read from the source.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const stages = ['transport', 'shipper', 'collector', 'query-api', 'alerts', 'web']
const shared = ['schemas', 'platform']
const checked = [...stages, ...shared]

/** top-level folders a file in `from` may import besides its own */
function allowed (from: string): string[] {
  return [from, ...shared]
}

function sources (dir: string): string[] {
  const out: string[] = []
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) { if (e.name !== 'node_modules' && e.name !== 'dist') out.push(...sources(p)) } else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** `file: 'specifier' (folder)` for every import leaving the folders `file` may use */
function offendingImports (): string[] {
  const out: string[] = []
  for (const folder of checked) {
    for (const file of sources(path.join(root, folder))) {
      const rel = path.relative(root, file)
      const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
      for (const { fileName: spec } of importedFiles) {
        if (!spec.startsWith('.')) continue // a package
        const target = path.relative(root, path.resolve(path.dirname(file), spec))
        const top = target.startsWith('..') ? '(outside the repo)' : target.split(path.sep)[0]
        if (!allowed(folder).includes(top)) out.push(`${rel}: '${spec}' (${top}/)`)
      }
    }
  }
  return out
}

/** `a -> b -> a` for every import cycle among the source files (type-only imports included) */
function importCycles (): string[] {
  const files = [...checked, 'cli'].flatMap(folder => sources(path.join(root, folder)))
  const known = new Set(files)
  const edges = new Map<string, string[]>()
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true)
    const targets = importedFiles.filter(f => f.fileName.startsWith('.')).map(f => path.resolve(path.dirname(file), f.fileName).replace(/\.js$/, ''))
    edges.set(file, targets.flatMap(t => [`${t}.ts`, `${t}.tsx`].filter(c => known.has(c)).slice(0, 1)))
  }
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (file: string): void => {
    state.set(file, 'open')
    stack.push(file)
    for (const t of edges.get(file) ?? []) {
      if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].map(f => path.relative(root, f)).join(' -> '))
      else if (!state.has(t)) visit(t)
    }
    stack.pop()
    state.set(file, 'done')
  }
  for (const file of files) if (!state.has(file)) visit(file)
  return cycles
}

describe('stage boundaries', () => {
  it('no stage imports another, schemas/ and platform/ import no stage, nothing imports cli/', () => {
    const crossing = offendingImports()
    expect(crossing, `imports crossing a stage boundary:\n${crossing.join('\n')}`).toEqual([])
  })

  it('reads the imports of every stage (the check is not vacuous)', () => {
    for (const folder of checked) expect(sources(path.join(root, folder)).length, folder).toBeGreaterThan(0)
    // alerts/ uses schemas/ and platform/: those imports are seen and allowed
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(path.join(root, 'alerts/routes.ts'), 'utf8'), true, true)
    expect(importedFiles.map(f => f.fileName)).toContain('../schemas/time-expr.js')
  })

  it('no module imports itself through others (no import cycle)', () => {
    const cycles = importCycles()
    expect(cycles, `import cycles:\n${cycles.join('\n')}`).toEqual([])
  })
})
