// The Explorer: one timeline of every machine.
//   URL (the state) ──▶ search bar · histogram · facets · results (or live tail) ──▶ query API
// Every control changes the URL; the URL drives every request, so links and back/forward work.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { ApiError, logout } from './lib/api.js'
import { countOf, formatCount, isoOf } from './lib/format.js'
import { matcherOf } from './lib/highlight.js'
import { filterParams, parseState, toSearch, type ViewState } from './lib/url-state.js'
import { useTimeline, maxLines } from './lib/use-timeline.js'
import { useTail } from './lib/use-tail.js'
import { useGaps } from './lib/use-gaps.js'
import { gapMarks } from './lib/gap-rows.js'
import type { LogLine } from './lib/types.js'
import { SearchBar } from './components/SearchBar.js'
import { Histogram } from './components/Histogram.js'
import { Facets } from './components/Facets.js'
import { ResultList, lineKey } from './components/ResultList.js'
import { ContextView } from './components/ContextView.js'
import { TailBar } from './components/TailBar.js'
import { HelpOverlay } from './components/HelpOverlay.js'
import { LoginForm } from './components/LoginForm.js'
import { FirstRun } from './components/FirstRun.js'
import { ThemeToggle } from './components/ThemeToggle.js'
import { PageNav } from './components/PageNav.js'
import { ProcessStrip } from './components/ProcessStrip.js'
import { AtBar } from './components/AtBar.js'
import { useTimeAxis } from './lib/use-time-axis.js'
import { GapNotice } from './components/GapNotice.js'
import { useKeys } from './lib/use-keys.js'

function stored (k: string, dflt: string): string {
  try { return localStorage.getItem(k) ?? dflt } catch { return dflt }
}
function store (k: string, v: string): void {
  try { localStorage.setItem(k, v) } catch {}
}

export function App () {
  const [state, setState] = useState<ViewState>(() => parseState(location.search))
  const [needLogin, setNeedLogin] = useState(false)
  const [loggedIn, setLoggedIn] = useState(false)
  const [utc, setUtc] = useState(() => stored('sluice.utc', '1') === '1')
  const [selected, setSelected] = useState(-1)
  const [expanded, setExpanded] = useState<Set<string>>(new Set())
  const [contextOf, setContextOf] = useState<LogLine | null>(null)
  const [help, setHelp] = useState(false)
  const [atTop, setAtTop] = useState(true)
  const [toTop, setToTop] = useState(0)
  const searchRef = useRef<HTMLInputElement | null>(null)
  // a new view starts unselected and at the top (set with the state, before any key is handled)
  const show = useCallback((next: ViewState, prev: ViewState) => {
    if (toSearch(next) !== toSearch(prev)) { setSelected(-1); setExpanded(new Set()); setAtTop(true) }
  }, [])

  const navigate = useViewState(setState, show)

  const timeline = useTimeline(state, !needLogin && !state.tail)
  const tail = useTail(state, !needLogin && state.tail, !atTop)
  const onAuth = useCallback((err: unknown) => { if (err instanceof ApiError && err.status === 401) setNeedLogin(true) }, [])
  useEffect(() => { onAuth(timeline.error) }, [timeline.error])
  useEffect(() => { if (tail.status === 'unauthorized') setNeedLogin(true) }, [tail.status])

  const lines = state.tail ? tail.lines : timeline.lines
  const { axis, setAxis, cursor, at, axisMarks, alertsLoaded, stripMarks, hoverLine } = useTimeAxis(state)
  const sideReady = state.tail || timeline.settled === `${filterParams(state).toString()}&order=${state.order}`
  // missing ranges: asked for once the lines are in, like the histogram and facets
  const gaps = useGaps(state, !needLogin && !state.tail && sideReady && timeline.empty !== 'no-logs', onAuth)
  const marks = useMemo(() => gapMarks(gaps.gaps), [gaps])
  const matcher = useMemo(() => matcherOf(state), [state.q, state.regex, state.i, state.w])
  const toggle = (l: LogLine): void => setExpanded(cur => { const n = new Set(cur); const k = lineKey(l); if (n.has(k)) n.delete(k); else n.add(k); return n })
  const resume = (): void => { tail.resume(); setAtTop(true); setToTop(n => n + 1) }

  useKeys({ lines, selected, help, contextOf, tail: state.tail, searchRef, setHelp, setContextOf, setSelected, toggle, toggleTail: () => navigate({ tail: !state.tail }), toggleUtc: () => setUtc(u => { store('sluice.utc', u ? '0' : '1'); return !u }) })

  if (needLogin) return <LoginForm onDone={() => { setNeedLogin(false); setLoggedIn(true); setState(parseState(location.search)) }} />

  const footer = state.tail ? '' : footerOf(timeline)
  return (
    <div class="app">
      <header class="top">
        <a class="brand" href="/" title="Sluice Explorer: reset the search">sluice</a>
        <PageNav />
        <SearchBar state={state} error={state.tail ? null : timeline.error} onChange={navigate} inputRef={searchRef} />
        <TopActions state={state} utc={utc} loggedIn={loggedIn} onChange={navigate} onUtc={() => { store('sluice.utc', utc ? '0' : '1'); setUtc(!utc) }} onHelp={() => setHelp(true)} onLogout={() => { void logout().then(() => setNeedLogin(true)) }} />
      </header>
      {!state.tail && timeline.empty !== 'no-logs' && <>
        <Histogram state={state} ready={sideReady} utc={utc} onAuth={onAuth} onZoom={(since, until) => navigate({ since, until })} marks={axisMarks} marksLoaded={alertsLoaded} ranges={marks} cursor={cursor} onAxis={setAxis} />
        {!state.tail && <GapNotice gaps={gaps} />}
        {axis !== null && <ProcessStrip state={state} axis={axis} cursor={cursor} marks={stripMarks} onAuth={onAuth} onPick={ms => navigate({ at: isoOf(Math.floor(ms / 60_000) * 60_000) })} />}
      </>}
      <div class="body">
        {timeline.empty !== 'no-logs' && <Facets state={state} ready={sideReady} onChange={navigate} onAuth={onAuth} />}
        <main class="main" onMouseOver={e => hoverLine(e, lines)} onMouseLeave={() => cursor.set(null)}>
          {!state.tail && !Number.isNaN(at) && <AtBar at={at} iso={state.at} order={state.order} utc={utc} onClear={() => navigate({ at: '' })} />}
          {state.tail && <TailBar tail={tail} paused={!atTop} onResume={resume} onStop={() => navigate({ tail: false })} />}
          {!state.tail && timeline.empty === 'no-logs' && <FirstRun />}
          {!state.tail && timeline.empty === 'no-match' && timeline.error === null && <div class="no-match">No lines match in this range. Widen the time range or remove a filter.</div>}
          {(state.tail || timeline.empty === 'none') && (
            <ResultList
              lines={lines} utc={utc} matcher={matcher} selected={selected} expanded={expanded}
              onSelect={setSelected} onToggle={toggle} onContext={setContextOf}
              onNearEnd={() => { if (!state.tail) timeline.loadMore() }}
              onAtTop={state.tail ? setAtTop : undefined}
              scrollToTopSignal={toTop}
              gaps={state.tail ? undefined : gaps.gaps} order={state.order} more={timeline.more}
              footer={state.tail && lines.length === 0 ? 'waiting for new lines…' : footer}
            />
          )}
        </main>
      </div>
      {contextOf !== null && <ContextView line={contextOf} utc={utc} onClose={() => setContextOf(null)} />}
      {help && <HelpOverlay onClose={() => setHelp(false)} />}
    </div>
  )
}

/** the state from the URL; navigating pushes (or replaces) the URL, back/forward restore it */
function useViewState (setState: (f: (cur: ViewState) => ViewState) => void, show: (next: ViewState, prev: ViewState) => void): (next: Partial<ViewState>, replace?: boolean) => void {
  useEffect(() => {
    const onPop = (): void => { setState(cur => { const s = parseState(location.search); show(s, cur); return s }) }
    addEventListener('popstate', onPop)
    return () => removeEventListener('popstate', onPop)
  }, [])
  return useCallback((next: Partial<ViewState>, replace = false) => {
    setState(cur => {
      const s = { ...cur, ...next }
      // a new range drops the minute the list started at
      if ((next.since !== undefined || next.until !== undefined) && next.at === undefined) s.at = ''
      show(s, cur)
      const url = toSearch(s)
      if (url !== location.pathname + location.search) {
        if (replace) history.replaceState(null, '', url)
        else history.pushState(null, '', url)
      }
      return s
    })
  }, [])
}

/** the line under the list: loading, more to scroll, the cap, or the end */
function footerOf (timeline: { loading: boolean, more: boolean, lines: LogLine[] }): string {
  return timeline.loading ? 'loading…'
    : timeline.more ? 'scroll for more'
      : timeline.lines.length >= maxLines ? `showing the first ${formatCount(maxLines)} lines; narrow the search to see the rest`
        : timeline.lines.length > 0 ? `end of results · ${countOf(timeline.lines.length, 'line')}` : ''
}

interface TopActionsProps { state: ViewState, utc: boolean, loggedIn: boolean, onChange: (next: Partial<ViewState>) => void, onUtc: () => void, onHelp: () => void, onLogout: () => void }

function TopActions ({ state, utc, loggedIn, onChange, onUtc, onHelp, onLogout }: TopActionsProps) {
  return (
    <div class="top-actions">
      <button type="button" class={`toggle tail-toggle${state.tail ? ' on' : ''}`} aria-pressed={state.tail} title="live tail (t)" onClick={() => onChange({ tail: !state.tail })}>{state.tail ? '● live' : '▶ live tail'}</button>
      {!state.tail && <button type="button" class="toggle" title="order of the list" onClick={() => onChange({ order: state.order === 'desc' ? 'asc' : 'desc' })}>{state.order === 'desc' ? '↓ newest first' : '↑ oldest first'}</button>}
      <button type="button" class="toggle" aria-pressed={utc} title="times in UTC or local time (u)" onClick={onUtc}>{utc ? 'UTC' : 'local'}</button>
      <ThemeToggle />
      <button type="button" class="toggle" title="keyboard shortcuts (?)" onClick={onHelp}>?</button>
      {loggedIn && <button type="button" class="link" onClick={onLogout}>log out</button>}
    </div>
  )
}
