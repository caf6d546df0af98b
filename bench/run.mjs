// `npm run bench` lists the benches and what each needs; `npm run bench -- <name> [args…]` runs
// one (after the build `npm run bench` does first). Each bench writes its section of
// bench/RESULTS.md.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { baselineTools, missingTools } from './tools.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))

export const benches = {
  shipper: {
    file: 'shipper.bench.mjs',
    what: 'file → Kafka as whole processes on fresh topics (`sluice ship` vs kcat, kcat with the shipper\'s settings, the OpenTelemetry Collector), main-thread cost per pino log call (sluice/transport vs pino/file), one sluice/stats sample',
    needs: 'kcat; KAFKA_BROKERS, or Java for a local broker (docker/kafka/libs); Go ≥ 1.26 to build the OpenTelemetry Collector once (bench/otelcol.mjs; without it that contender is skipped)',
    tools: ['kcat'],
    usage: 'env RUNS, LINES, CALLS, WARMUP, ONLY=ship,calls,stats, OTEL=0, OTEL_DEFAULTS=0, BENCH_DEBUG=1'
  },
  collector: {
    file: 'collector.bench.mjs',
    what: 'Kafka → ClickHouse rows/s (createCollector vs ClickHouse\'s Kafka engine), collector RSS while ClickHouse stalls',
    needs: 'KAFKA_BROKERS, or Java for a local broker (SLUICE_KAFKA_LIBS=docker/kafka/libs); chDB',
    tools: [],
    usage: '[--records N] [--stall-s S] [--rounds R]'
  },
  query: {
    file: 'query.bench.mjs',
    what: 'search over N lines (API vs the same SQL vs ripgrep), tail latency write→SSE, 200 SSE clients\' server RSS',
    needs: 'rg; Java for a local broker (docker/kafka/libs); chDB; disk for bench/data',
    tools: ['rg'],
    usage: '[lines] (default 10,000,000)'
  },
  gaps: {
    file: 'gaps.bench.mjs',
    what: 'GET /v1/gaps over 24 h at 1M, 3M, 10M rows (120 sources, 6 induced holes checked exactly) vs the same statements straight to ClickHouse',
    needs: 'chDB; disk for bench/data (~1 GB)',
    tools: [],
    usage: '[rows…] (default 1000000 3000000 10000000); env RUNS'
  },
  processes: {
    file: 'processes.bench.mjs',
    what: 'Processes page, 200 processes × 24 h of 1-minute stats: navigation → charts drawn, bytes and requests, vs the same /v1/stats SQL straight to ClickHouse',
    needs: 'Chromium (/usr/bin/chromium); chDB',
    tools: [],
    usage: '[processes] (default 200); env RUNS, SCREENSHOT=<png path>'
  },
  'alerts-eval': {
    file: 'alerts-eval.bench.mjs',
    what: 'one alert evaluation round with the rule cap filled',
    needs: 'chDB',
    tools: [],
    usage: '[rules] [lines]'
  }
}

function list () {
  const lines = ['Benches (run one: npm run bench -- <name> [args…]):', '']
  for (const [name, b] of Object.entries(benches)) {
    const missing = missingTools(b.tools)
    lines.push(`  ${name.padEnd(12)}${b.what}`)
    lines.push(`  ${''.padEnd(12)}needs: ${b.needs}`)
    lines.push(`  ${''.padEnd(12)}args: ${b.usage}`)
    if (missing.length > 0) lines.push(`  ${''.padEnd(12)}missing here: ${missing.join(', ')} (apt-get install ${missing.map(n => baselineTools[n].apt).join(' ')})`)
    lines.push('')
  }
  process.stdout.write(lines.join('\n'))
}

const [name, ...args] = process.argv.slice(2)
if (name === undefined || name === '--help' || name === '-h' || name === 'list') {
  list()
} else if (benches[name] === undefined) {
  process.stderr.write(`bench: no bench named ${JSON.stringify(name)}; one of: ${Object.keys(benches).join(', ')}\n`)
  process.exit(2)
} else {
  const r = spawnSync(process.execPath, [path.join(here, benches[name].file), ...args], { stdio: 'inherit' })
  process.exit(r.status ?? 1)
}
