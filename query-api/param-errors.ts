// Schema validation failures as people read them: the parameter, what was accepted and what
// came ("order must be one of asc, desc; got 'up'"), instead of Ajv's "must be equal to constant".
// Needs Ajv's `verbose` option (each error then carries its schema and the data).

interface AjvError {
  keyword: string
  instancePath: string
  params: Record<string, unknown>
  message?: string
  parentSchema?: Record<string, unknown>
  data?: unknown
}

function got (v: unknown): string {
  const s = Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : JSON.stringify(v)
  return `'${String(s).slice(0, 100).replace(/'/g, "\\'")}'`
}

function accepted (schema: Record<string, unknown> | undefined): string | null {
  if (schema === undefined) return null
  const branches = schema.anyOf as Array<Record<string, unknown>> | undefined
  if (branches !== undefined && branches.length > 0 && branches.every(b => 'const' in b)) return `must be one of ${branches.map(b => String(b.const)).join(', ')}`
  if (branches !== undefined) return branches.map(b => accepted(b)).find(a => a !== null) ?? null
  if (schema.type === 'integer' || schema.type === 'number') {
    const what = schema.type === 'integer' ? 'a whole number' : 'a number'
    const lo = schema.minimum as number | undefined
    const hi = schema.maximum as number | undefined
    return lo !== undefined && hi !== undefined ? `must be ${what} from ${lo} to ${hi}` : lo !== undefined ? `must be ${what} ≥ ${lo}` : `must be ${what}`
  }
  if (schema.type === 'boolean') return 'must be true or false'
  if (schema.type === 'string' && schema.maxLength !== undefined) return `must be at most ${String(schema.maxLength)} characters`
  return null
}

/** One line naming the parameter (the first failure: Ajv stops there). */
export function describeValidation (errs: AjvError[]): { name: string, why: string } {
  // a union reports each branch, then itself: the union says what is accepted
  const e = errs.find(x => x.keyword === 'anyOf') ?? errs[0]
  const name = e.instancePath.replace(/^\//, '').split('/')[0] || String(e.params.missingProperty ?? e.params.additionalProperty ?? '')
  if (e.keyword === 'additionalProperties') {
    const known = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {})
    return { name, why: `unknown parameter; accepted: ${known.join(', ')}` }
  }
  if (e.keyword === 'required') return { name, why: 'is required' }
  if (e.keyword === 'maxItems') return { name, why: `may be given at most ${String(e.params.limit)} times` }
  const what = accepted(e.keyword === 'anyOf' ? e.parentSchema : e.parentSchema) ?? e.message ?? 'is invalid'
  return { name, why: `${what}; got ${got(e.data)}` }
}
