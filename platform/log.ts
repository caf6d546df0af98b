// Sluice's own operational log: one line per event on stderr, never a stack trace for an
// expected failure. (Sluice does not ship its own logs through itself by default.)
const quiet = process.env.SLUICE_QUIET === '1'

export function info (msg: string): void {
  if (!quiet) process.stderr.write(`sluice: ${msg}\n`)
}

export function warn (msg: string): void {
  process.stderr.write(`sluice: warning: ${msg}\n`)
}

export function fail (msg: string): void {
  process.stderr.write(`sluice: error: ${msg}\n`)
}
