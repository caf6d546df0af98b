// The Explorer's URL is its state, in the API's own parameter names.
import { describe, expect, it } from 'vitest'
import { filterParams, parseState, toSearch } from '../../web/lib/url-state.js'
import { formatFields } from '../../web/lib/format.js'
import { matcherOf } from '../../web/lib/highlight.js'

describe('Explorer URL state', () => {
  it('reads and writes the API parameters, omitting the default range', () => {
    const s = parseState('?q=timeout&since=1h&host=web-1,web-2&level=warn&not_service=cron&field=responseTime%3E%3D500&v=health&tail=1')
    expect(s).toMatchObject({ q: 'timeout', regex: false, host: ['web-1', 'web-2'], level: 'warn', notService: ['cron'], field: ['responseTime>=500'], v: ['health'], tail: true, since: '1h', until: '' })
    expect(toSearch(s)).toBe('/?q=timeout&host=web-1&host=web-2&level=warn&not_service=cron&field=responseTime%3E%3D500&v=health&tail=1')
    expect(toSearch(parseState(toSearch(s).slice(1)))).toBe(toSearch(s))
    expect(toSearch(parseState(''))).toBe('/')
    expect(toSearch(parseState('?order=asc&since=6h'))).toBe('/?since=6h&order=asc')
  })

  it('sends a regex as regex, and the tail without the range', () => {
    const s = parseState('?regex=a%7Cb&i=true&since=2026-12-01T00:00:00Z&until=2026-12-01T01:00:00Z')
    expect(filterParams(s).toString()).toBe('regex=a%7Cb&i=true&since=2026-12-01T00%3A00%3A00Z&until=2026-12-01T01%3A00%3A00Z')
    expect(filterParams(s, { range: false }).toString()).toBe('regex=a%7Cb&i=true')
  })

  it('shows fields as k=v with top-level values first and nested keys dotted, and marks matches', () => {
    expect(formatFields({ req: { method: 'GET', url: '/a b' }, responseTime: 12, tags: ['x'] })).toBe('responseTime=12 tags=["x"] req.method=GET req.url="/a b"')
    expect(matcherOf({ q: 'Time', regex: false, i: true, w: false })!('timeout TIME')).toEqual([[0, 4], [8, 12]])
    expect(matcherOf({ q: 'a.c', regex: false, i: false, w: false })!('abc a.c')).toEqual([[4, 7]])
    expect(matcherOf({ q: 'x(', regex: true, i: false, w: false })).toBeNull()
  })
})
