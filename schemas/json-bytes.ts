// Is this line exactly one JSON object text? Answered on the bytes, without decoding or parsing:
// the shipper asks it of every line to decide whether the line can travel raw (shipper/batch.ts),
// so it must cost a fraction of JSON.parse and allocate nothing.
// true ⇒ JSON.parse of the line's UTF-8 text returns a plain object. false may be conservative:
// nesting deeper than maxDepth. UTF-8 validity is not checked here (node:buffer isUtf8 does
// that natively, and bytes ≥ 0x80 only matter inside strings, where any of them is allowed here).

const maxDepth = 64

// Byte classes for the less common paths (whitespace, escapes) as 256-entry tables: one lookup
// instead of a chain of compares. The string-content loop uses plain compares instead, which
// measured at least as fast as a table there.
// WS: the four whitespace bytes RFC 8259 allows between tokens.
const WS = new Uint8Array(256)
WS[0x20] = WS[0x09] = WS[0x0a] = WS[0x0d] = 1
// HEX: 1 for [0-9A-Fa-f], for \uXXXX.
const HEX = new Uint8Array(256)
for (const s of ['0123456789', 'abcdef', 'ABCDEF']) for (let k = 0; k < s.length; k++) HEX[s.charCodeAt(k)] = 1
// ESC: the single-byte escapes after '\\': " \ / b f n r t.
const ESC = new Uint8Array(256)
for (const c of '"\\/bfnrt') ESC[c.charCodeAt(0)] = 1

// Open containers, 1 = object, 0 = array. Module-level and preallocated: no allocation per call,
// and the function is synchronous, so calls never interleave.
const stack = new Uint8Array(maxDepth + 1)

/** index just past the string whose opening quote is at i, or -1 */
function skipString (b: Uint8Array, i: number, end: number): number {
  i++
  for (;;) {
    // plain content, the bulk of a log line: stop only at '"', '\\' or a raw control byte
    while (i < end) {
      const d = b[i]
      if (d === 0x22 || d === 0x5c || d < 0x20) break
      i++
    }
    if (i >= end) return -1
    const c = b[i]
    if (c === 0x22) return i + 1
    if (c !== 0x5c) return -1 // raw control byte
    if (i + 1 >= end) return -1
    const e = b[i + 1]
    if (ESC[e] === 1) {
      i += 2
    } else if (e === 0x75 /* u */) {
      if (i + 5 >= end || HEX[b[i + 2]] === 0 || HEX[b[i + 3]] === 0 || HEX[b[i + 4]] === 0 || HEX[b[i + 5]] === 0) return -1
      i += 6
    } else {
      return -1
    }
  }
}

function isDigit (c: number): boolean { return c >= 0x30 && c <= 0x39 }

/** index just past the number starting at i (RFC 8259: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?), or -1 */
function skipNumber (b: Uint8Array, i: number, end: number): number {
  if (b[i] === 0x2d) i++
  if (i >= end) return -1
  let c = b[i]
  if (c === 0x30) {
    i++ // a leading 0 stands alone: "01" leaves '1' for the caller, which rejects it
  } else if (c >= 0x31 && c <= 0x39) {
    i++
    while (i < end && isDigit(b[i])) i++
  } else {
    return -1
  }
  if (i >= end) return i
  c = b[i]
  if (c === 0x2e) {
    i++
    if (i >= end || !isDigit(b[i])) return -1
    i++
    while (i < end && isDigit(b[i])) i++
    if (i >= end) return i
    c = b[i]
  }
  if (c === 0x65 || c === 0x45) {
    i++
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++
    if (i >= end || !isDigit(b[i])) return -1
    i++
    while (i < end && isDigit(b[i])) i++
  }
  return i
}

/** index just past the literal true/false/null starting at i, or -1 (compared byte by byte: no strings) */
function skipLiteral (b: Uint8Array, i: number, end: number): number {
  const c = b[i]
  if (c === 0x74) { // true
    return i + 4 <= end && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? i + 4 : -1
  }
  if (c === 0x66) { // false
    return i + 5 <= end && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? i + 5 : -1
  }
  if (c === 0x6e) { // null
    return i + 4 <= end && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? i + 4 : -1
  }
  return -1
}

/**
 * true only when buf[start, end) is exactly one JSON object text (RFC 8259): first byte '{', last
 * byte '}', no whitespace outside it. Whenever true, JSON.parse(buf.toString('utf8', start, end))
 * succeeds and returns a plain object. May return false conservatively (nesting deeper than 64).
 */
export function isJsonObjectBytes (buf: Uint8Array, start: number, end: number): boolean {
  if (start < 0 || end > buf.length || end - start < 2 || buf[start] !== 0x7b || buf[end - 1] !== 0x7d) return false
  const b = buf
  let i = start + 1
  let depth = 1 // open containers, the top-level object included
  stack[1] = 1
  // One pass, no recursion: each turn of the outer loop reads one member (key ':' value) of an
  // object or one element of an array, then ',' or the closing bracket(s) that follow it.
  let c: number
  while (i < end && WS[b[i]] === 1) i++
  if (i >= end) return false
  if (b[i] === 0x7d) return i + 1 === end // "{}" with optional inner whitespace
  for (;;) {
    // ── at the start of a member (object) or element (array), whitespace skipped ──
    if (stack[depth] === 1) {
      if (b[i] !== 0x22) return false
      i = skipString(b, i, end)
      if (i < 0) return false
      while (i < end && WS[b[i]] === 1) i++
      if (i >= end || b[i] !== 0x3a) return false
      i++
      while (i < end && WS[b[i]] === 1) i++
      if (i >= end) return false
    }
    // ── a value at i ──
    c = b[i]
    if (c === 0x22) {
      i = skipString(b, i, end)
    } else if (c === 0x7b || c === 0x5b) {
      if (depth === maxDepth) return false // conservative: deeper nesting is refused, not parsed
      depth++
      stack[depth] = c === 0x7b ? 1 : 0
      i++
      while (i < end && WS[b[i]] === 1) i++
      if (i >= end) return false
      c = b[i]
      if (c !== 0x7d && c !== 0x5d) continue // not empty: read its first member
      // empty container: a complete value once closed by its own bracket ('{]' is an error)
      if (c !== (stack[depth] === 1 ? 0x7d : 0x5d)) return false
      i++
      depth--
    } else if (c === 0x2d || isDigit(c)) {
      i = skipNumber(b, i, end)
    } else {
      i = skipLiteral(b, i, end)
    }
    if (i < 0) return false
    // ── after a value: ',' to the next member, or close containers ──
    for (;;) {
      while (i < end && WS[b[i]] === 1) i++
      if (i >= end) return false
      c = b[i]
      if (c === 0x2c) {
        i++
        while (i < end && WS[b[i]] === 1) i++
        if (i >= end) return false
        break
      }
      if (c !== (stack[depth] === 1 ? 0x7d : 0x5d)) return false
      i++
      if (--depth === 0) return i === end // the top-level object closed: nothing may follow it
    }
  }
}
