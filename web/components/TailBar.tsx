// The live tail's status line: live / paused (with how many lines are waiting) / reconnecting,
// the rate, and lines the server dropped because this page read too slowly.
import { countOf, formatCount } from '../lib/format.js'
import type { Tail } from '../lib/use-tail.js'
import { maxTailLines } from '../lib/use-tail.js'

export function TailBar ({ tail, paused, onResume, onStop }: { tail: Tail, paused: boolean, onResume: () => void, onStop: () => void }) {
  return (
    <div class={`tail-bar${paused ? ' paused' : ''}`} role="status">
      {paused
        ? <span class="tail-state">⏸ paused — {countOf(tail.pending, 'new line')} — <button type="button" class="link" onClick={onResume}>resume</button></span>
        : <span class="tail-state">{tail.status === 'live' ? '● live' : tail.status === 'unauthorized' ? '✕ not logged in' : tail.status === 'reconnecting' ? `↻ reconnecting${tail.why !== '' ? ` (${tail.why})` : ''}…` : '… connecting'}</span>}
      <span class="dim">{formatCount(tail.rate)} lines/s · showing the newest {formatCount(Math.min(tail.lines.length, maxTailLines))} (at most {formatCount(maxTailLines)})</span>
      {tail.dropped > 0 && <span class="warn-text">{countOf(tail.dropped, 'line')} dropped by the server (this page read too slowly); resumed after them</span>}
      {tail.gap !== '' && <span class="warn-text" title={tail.gap}>the tail could not resume where it stopped; the lines in between are in the timeline (stop the tail to search them)</span>}
      <button type="button" class="link" onClick={onStop}>stop tail (t)</button>
    </div>
  )
}
