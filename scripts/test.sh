#!/usr/bin/env bash
# The whole test suite on real components, from a fresh clone:
#   Debian tools the tests drive (kcat, logrotate, ripgrep, chromium) → npm packages → build →
#   Kafka jars (Maven Central, cached) → vitest (starts one real broker; ClickHouse is
#   CLICKHOUSE_URL or embedded chDB).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v logrotate >/dev/null 2>&1 || missing+=(logrotate)
command -v rg >/dev/null 2>&1 || missing+=(ripgrep)
[ -x /usr/lib/chromium/chromium ] || [ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm install, not npm ci: chdb lists per-platform optional packages that the registry does
  # not serve for every platform, so the lock can never list them all and `npm ci` refuses it
  echo "test: npm install"
  npm install --no-audit --no-fund --loglevel=error
fi

echo "test: build"
npm run build --silent

if [ -z "${KAFKA_BROKERS:-}" ]; then
  node -e "import('./dist/platform/kafka-launcher.js').then(m => m.ensureKafkaJars(msg => console.log('test: ' + msg)))"
fi

results="$(mktemp -d)/vitest.json"
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
set -e
if [ -f "$results" ]; then
  # one plain closing line: "vitest: N passed, N failed, N skipped"
  # a file whose setup failed has no failed test of its own: count it as one failure
  node -e "const r = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8')); const broken = r.testResults.filter(f => f.status === 'failed' && !f.assertionResults.some(a => a.status === 'failed')).length; console.log('vitest: ' + r.numPassedTests + ' passed, ' + (r.numFailedTests + broken) + ' failed, ' + (r.numPendingTests + r.numTodoTests) + ' skipped')" "$results"
fi
exit $status
