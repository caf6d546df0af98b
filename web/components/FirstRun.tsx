// Shown instead of an empty list when Sluice holds no line at all: how to send some.
const snippet = `// npm install pino sluice
import pino from 'pino'

const logger = pino({
  transport: { target: 'sluice/transport', options: { service: 'api' } }
})
logger.info({ userId: 42 }, 'hello from my service')`

export function FirstRun () {
  return (
    <div class="first-run">
      <h2>No logs yet</h2>
      <p>Send some from any Node.js service through pino and the Sluice transport — lines appear here a second later:</p>
      <pre>{snippet}</pre>
      <p>Or watch a small simulated fleet: run <code>sluice demo</code> in another terminal (same <code>SLUICE_DATA_DIR</code>).</p>
    </div>
  )
}
