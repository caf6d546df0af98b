// The keyboard shortcuts, listed (press ?).
export const shortcuts: Array<[string, string]> = [
  ['/', 'focus the search box'],
  ['Shift+Enter', 'in the search box: exclude lines containing the text (grep -v)'],
  ['j / k', 'next / previous line'],
  ['Enter', 'expand or collapse the line (full JSON, copy)'],
  ['c', 'show context of the line (same source, grep -C)'],
  ['t', 'live tail on / off'],
  ['u', 'times in UTC / local'],
  ['Esc', 'close the context or this help; leave the search box'],
  ['?', 'this help'],
  ['alt-click', 'a facet value: exclude it (shift-click too)']
]

export function HelpOverlay ({ onClose }: { onClose: () => void }) {
  return (
    <div class="overlay" role="dialog" aria-label="keyboard shortcuts" onClick={e => { if (e.target === e.currentTarget) onClose() }}>
      <div class="panel help-panel">
        <header><h2>Keyboard shortcuts</h2><button type="button" class="close" aria-label="close" onClick={onClose}>×</button></header>
        <table>
          <tbody>{shortcuts.map(([k, what]) => <tr key={k}><td><kbd>{k}</kbd></td><td>{what}</td></tr>)}</tbody>
        </table>
      </div>
    </div>
  )
}
