#!/usr/bin/env node
import { main } from '../dist/cli/main.js'

// long-running roles exit explicitly once stopped (client libraries may keep idle handles);
// grep and tail only set the exit code so piped output is never cut short
const longRunning = new Set(['up', 'ship', 'collect', 'serve', 'kafka', 'migrate'])
main(process.argv.slice(2)).then(code => {
  if (longRunning.has(process.argv[2])) process.exit(code)
  process.exitCode = code
}, err => {
  process.stderr.write(`sluice: error: ${err && err.message}\n`)
  process.exit(1)
})
