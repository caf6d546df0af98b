// Above the list when it starts at a minute picked on a graph (`at`): which, and the way back.
import { formatTime } from '../lib/format.js'

export function AtBar ({ at, iso, order, utc, onClear }: { at: number, iso: string, order: 'asc' | 'desc', utc: boolean, onClear: () => void }) {
  const minute = formatTime(new Date(at).toISOString(), utc).slice(0, 16)
  return (
    <div class="at-bar" data-at={iso}>
      {order === 'asc' ? `lines from ${minute}:00` : `lines up to ${minute}:59`} (the minute picked on a graph)
      <button type="button" class="link" onClick={onClear}>{order === 'asc' ? 'back to the oldest' : 'back to the newest'}</button>
    </div>
  )
}
