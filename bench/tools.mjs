// The outside programs a bench measures Sluice against (its baselines): checked before the bench
// starts, so a missing one is one line that says how to install it rather than a failure halfway.
import { spawnSync } from 'node:child_process'

/** baseline tools by command: the flag that prints a version, and the apt package */
export const baselineTools = {
  kcat: { versionFlag: '-V', apt: 'kcat', what: 'the Kafka producer the shipper is measured against' },
  rg: { versionFlag: '--version', apt: 'ripgrep', what: 'the grep the search is measured against' }
}

/** the commands among `names` that cannot be run here */
export function missingTools (names) {
  return names.filter(name => {
    const r = spawnSync(name, [baselineTools[name].versionFlag], { stdio: 'ignore' })
    return r.error !== undefined
  })
}

/** exits (code 2) with one line per missing tool and the command that installs them all */
export function requireTools (bench, names) {
  const missing = missingTools(names)
  if (missing.length === 0) return
  for (const name of missing) process.stderr.write(`${bench}: needs ${name} (${baselineTools[name].what}), which is not on PATH\n`)
  process.stderr.write(`${bench}: install with: apt-get install ${missing.map(n => baselineTools[n].apt).join(' ')}\n`)
  process.exit(2)
}
