// Every error code is documented in docs/errors.md, as a row of its table (fastify's habit: a
// code nobody can look up is a support ticket).
import fs from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { errors, SluiceError } from '../../platform/errors.js'
import { root } from '../helpers/env.js'

describe('error registry', () => {
  const doc = fs.readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8')
  const documented = doc.split('\n').map(line => /^\| `(SLUICE_ERR_[A-Z_]+)` \|/.exec(line)?.[1]).filter(c => c !== undefined)
  it.each(Object.values(errors).map(f => [f.code]))('%s is documented in docs/errors.md', (code) => {
    expect(documented).toContain(code)
  })
  it('builds SluiceErrors with code, status and exact message', () => {
    const e = errors.BAD_PARAM('limit', 'must be ≤ 5000')
    expect(e).toBeInstanceOf(SluiceError)
    expect([e.code, e.statusCode, e.message]).toEqual(['SLUICE_ERR_BAD_PARAM', 400, "invalid query parameter 'limit': must be ≤ 5000"])
  })
})
