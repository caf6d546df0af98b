// Asked when the API answers 401: one of SLUICE_TOKENS, exchanged for an HttpOnly session
// cookie (POST /v1/session). The token itself is never stored by the page or put in a URL.
import { useState } from 'preact/hooks'
import { ApiError, login } from '../lib/api.js'

export function LoginForm ({ onDone }: { onDone: () => void }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault()
    setBusy(true)
    try {
      await login(token)
      setToken('')
      onDone()
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That token is not one of SLUICE_TOKENS.' : `Login failed: ${(err as Error).message}`)
    } finally { setBusy(false) }
  }
  return (
    <div class="login">
      <form class="panel" onSubmit={e => { void submit(e) }}>
        <h1>Sluice</h1>
        <p>This Sluice requires a token (one of the server's <code>SLUICE_TOKENS</code>).</p>
        <label>Token <input type="password" name="token" autocomplete="current-password" value={token} onInput={e => setToken((e.target as HTMLInputElement).value)} autofocus /></label>
        {error !== null && <div class="field-error" role="alert">{error}</div>}
        <button type="submit" disabled={busy || token === ''}>Log in</button>
        <p class="dim">The page keeps a session cookie for 12 hours; the token is not stored in the browser.</p>
      </form>
    </div>
  )
}
