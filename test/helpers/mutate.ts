// Deterministic one-character mutations of a line (delete, insert or replace one character from
// `chars`), for tests that compare a fast path with the general path on near-miss input.
export function mutations (line: string, n: number, chars: string[], seed: number): string[] {
  const rnd = (k: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k }
  const out: string[] = []
  for (let k = 0; k < n; k++) {
    const p = rnd(line.length)
    const op = rnd(3)
    const c = chars[rnd(chars.length)]
    out.push(op === 0 ? line.slice(0, p) + line.slice(p + 1) : op === 1 ? line.slice(0, p) + c + line.slice(p) : line.slice(0, p) + c + line.slice(p + 1))
  }
  return out
}
