// Filters of /v1/tail, applied in Node to each line as it streams by: the shared log filter
// (schemas/log-filter.ts), substring, whole word, and RE2 regexes. Regexes run in re2js, a port of RE2 with the same
// syntax and guarantee as ClickHouse's match(): linear time, no backreferences or lookaround,
// so a hostile pattern cannot stall the event loop that feeds every other client.
import { RE2JS } from 're2js'
import { compileLogFilter, type LogFilter } from '../schemas/log-filter.js'
import { errors } from '../platform/errors.js'
import { wordRegex } from './search.js'
import type { LogLine } from './search.js'

export interface TailFilter { q?: string, regex?: string, i: boolean, w?: boolean, filter: LogFilter }

/** Compiles an RE2 pattern for the tail, or throws the 400 /v1/logs gives for the same mistake. */
export function compileRegex (re: string, caseInsensitive: boolean): RE2JS {
  let p: RE2JS
  try {
    p = RE2JS.compile(re, caseInsensitive ? RE2JS.CASE_INSENSITIVE : 0)
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, '')
    throw errors.BAD_PARAM('regex', `is not a valid RE2 expression: ${why.slice(0, 200)}`)
  }
  // linear time is per instruction: a huge program (e.g. a.{999} repeated) would cost ~1e5
  // steps per character on every line for every client, on the loop that feeds them all
  if (p.programSize() > maxTailProgram) throw errors.BAD_PARAM('regex', `is too complex for the live tail (RE2 program of ${p.programSize()} instructions, at most ${maxTailProgram}); simplify it, or search with /v1/logs`)
  return p
}

/** RE2 program size a tail regex may have (a typical search pattern is 10–100). */
export const maxTailProgram = 2000

export function compileFilter (f: TailFilter): (l: LogLine, fieldsJson: string) => boolean {
  // host, service, level, field filters and exclusions: the same definition /v1/logs binds into SQL
  const shared = compileLogFilter(f.filter, f.i)
  const hasQ = f.q !== undefined && f.q !== ''
  // whole words are a regex on both sides, as in /v1/logs
  const word = hasQ && f.w === true ? compileRegex(wordRegex(f.q!), f.i) : null
  const q = hasQ && word === null ? (f.i ? f.q!.toLowerCase() : f.q!) : null
  const re = f.regex !== undefined && f.regex !== '' ? compileRegex(f.regex, f.i) : null
  return (l, fieldsJson) => {
    if (!shared(l, fieldsJson)) return false
    if (q !== null) {
      const found = f.i
        ? l.msg.toLowerCase().includes(q) || fieldsJson.toLowerCase().includes(q)
        : l.msg.includes(q) || fieldsJson.includes(q)
      if (!found) return false
    }
    if (word !== null && !word.test(l.msg) && !word.test(fieldsJson)) return false
    if (re !== null && !re.test(l.msg) && !re.test(fieldsJson)) return false
    return true
  }
}
