// Keyset cursors for the timeline: the (ts, source, offset) of the last line returned,
// base64url-encoded. Stable under concurrent inserts, unlike OFFSET paging.
import { errors } from '../platform/errors.js'

export interface CursorKey { ts: number, source: string, offset: number }

export function encodeCursor (k: CursorKey): string {
  return Buffer.from(JSON.stringify([1, k.ts, k.source, k.offset])).toString('base64url')
}

export function decodeCursor (text: string): CursorKey {
  if (text.length > 512 || !/^[A-Za-z0-9_-]+$/.test(text)) throw errors.BAD_CURSOR('not a cursor returned by this API (expected base64url)')
  let v: unknown
  try { v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) } catch { throw errors.BAD_CURSOR('not a cursor returned by this API (undecodable)') }
  if (!Array.isArray(v) || v.length !== 4 || v[0] !== 1 || !Number.isSafeInteger(v[1]) || typeof v[2] !== 'string' || !/^[0-9a-f]{1,64}$/.test(v[2]) || !Number.isSafeInteger(v[3]) || v[3] < 0) {
    throw errors.BAD_CURSOR('not a cursor returned by this API (wrong shape)')
  }
  return { ts: v[1], source: v[2], offset: v[3] }
}
