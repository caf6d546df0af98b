// Dark or light: follows the OS until the reader picks one (kept in localStorage).
import { useEffect, useState } from 'preact/hooks'

type Theme = 'auto' | 'dark' | 'light'
const next: Record<Theme, Theme> = { auto: 'dark', dark: 'light', light: 'auto' }

export function ThemeToggle () {
  const [theme, setTheme] = useState<Theme>(() => { try { return (localStorage.getItem('sluice.theme') as Theme | null) ?? 'auto' } catch { return 'auto' } })
  useEffect(() => {
    if (theme === 'auto') delete document.documentElement.dataset.theme
    else document.documentElement.dataset.theme = theme
    try { localStorage.setItem('sluice.theme', theme) } catch {}
  }, [theme])
  return <button type="button" class="toggle" title={`theme: ${theme} (click for ${next[theme]})`} onClick={() => setTheme(next[theme])}>{theme === 'auto' ? '◐ auto' : theme === 'dark' ? '☾ dark' : '☀ light'}</button>
}
