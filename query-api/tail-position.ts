// Tail event ids: a resumable position in the Kafka logs topic. For every partition it holds
// the next (message offset, line index) to read — Kafka offsets are durable, so an id stays
// meaningful across server restarts and needs no server-side session. Text form:
//   k1.<partition>-<offset>-<line>_<partition>-<offset>-<line>…
import { errors } from '../platform/errors.js'

export type Pos = readonly [offset: number, line: number]
export type TailPosition = Map<number, Pos>

export function comparePos (a: Pos, b: Pos): number {
  return a[0] - b[0] || a[1] - b[1]
}

export function encodePosition (p: TailPosition): string {
  return 'k1.' + [...p.entries()].sort((a, b) => a[0] - b[0]).map(([part, [o, i]]) => `${part}-${o}-${i}`).join('_')
}

const idRe = /^k1\.\d{1,5}-\d{1,16}-\d{1,7}(_\d{1,5}-\d{1,16}-\d{1,7}){0,1023}$/

export function decodePosition (text: string): TailPosition {
  if (text.length > 32_768 || !idRe.test(text)) throw errors.BAD_CURSOR('Last-Event-ID is not an event id sent by this API')
  const p: TailPosition = new Map()
  for (const part of text.slice(3).split('_')) {
    const [a, o, i] = part.split('-').map(Number)
    if (!Number.isSafeInteger(o) || p.has(a)) throw errors.BAD_CURSOR('Last-Event-ID is not an event id sent by this API')
    p.set(a, [o, i])
  }
  return p
}
