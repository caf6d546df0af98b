// Where the CLI's client commands reach the query API, and how they authenticate: SLUICE_URL
// (default http://127.0.0.1:$SLUICE_PORT, port 7070) and SLUICE_TOKEN as a bearer token.

export function baseUrl (env: NodeJS.ProcessEnv = process.env): string {
  return (env.SLUICE_URL ?? `http://127.0.0.1:${env.SLUICE_PORT ?? '7070'}`).replace(/\/$/, '')
}

/** request headers for a JSON answer, with the bearer token when one is set */
export function jsonHeaders (env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const h: Record<string, string> = { accept: 'application/json' }
  if (env.SLUICE_TOKEN !== undefined) h.authorization = `Bearer ${env.SLUICE_TOKEN}`
  return h
}
