// How errors reach an HTTP client: every answer is `{ error: SLUICE_ERR_*, message }` with the
// code's status (platform/errors.ts). SluiceErrors go out as they are; request validation,
// ClickHouse's own errors and fastify's client errors are mapped onto registered codes; anything
// else is logged and answered as an internal error, without its details.
import type { Socket } from 'node:net'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { SluiceError, errors } from '../platform/errors.js'
import { describeValidation } from './param-errors.js'

/** ClickHouse error codes a query can meet, as an HTTP status and the start of the message */
const clickhouseErrorStatus: Record<string, [number, string]> = {
  427: [400, 'invalid regular expression'],
  159: [503, 'query timed out'],
  158: [400, 'query reads too many rows; narrow the time range or add filters'],
  241: [503, 'query exceeded the memory limit'],
  202: [503, 'too many simultaneous queries']
}

/** the query API's error handler (app.setErrorHandler) */
export function httpErrorHandler (err: FastifyError | SluiceError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof SluiceError) {
    if (err.statusCode === 503 || err.statusCode === 429) reply.header('retry-after', '5')
    return reply.code(err.statusCode).send({ error: err.code, message: err.message })
  }
  if (err.validation !== undefined) {
    // names the parameter, what it got and what is accepted (param-errors.ts)
    const { name, why } = describeValidation(err.validation as Parameters<typeof describeValidation>[0])
    const e = errors.BAD_PARAM(name, why)
    return reply.code(e.statusCode).send({ error: e.code, message: e.message })
  }
  const chCode = (err as { code?: string }).code
  if (chCode !== undefined && clickhouseErrorStatus[chCode] !== undefined) {
    const [status, text] = clickhouseErrorStatus[chCode]
    if (status === 503) reply.header('retry-after', '5')
    return reply.code(status).send({ error: status === 400 ? errors.BAD_PARAM.code : errors.OVERLOADED.code, message: `${text}: ${err.message.split('\n')[0].slice(0, 300)}` })
  }
  if (err.statusCode !== undefined && err.statusCode < 500) {
    return reply.code(err.statusCode).send({ error: err.code ?? errors.BAD_REQUEST.code, message: err.message })
  }
  req.log.error(err)
  process.stderr.write(`sluice: query error: ${err.message.split('\n')[0]}\n`)
  const e = errors.INTERNAL()
  return reply.code(e.statusCode).send({ error: e.code, message: e.message })
}

/** Node's clientError, before fastify has a request: a request not received in time (408), headers
 *  too large (431) or a malformed request (400), answered on the raw socket, which is then closed */
export function rawClientErrorHandler (requestTimeoutMs: number): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return
    const [status, e] = err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ['408 Request Timeout', errors.REQUEST_TIMEOUT(requestTimeoutMs)]
      : err.code === 'HPE_HEADER_OVERFLOW' ? ['431 Request Header Fields Too Large', errors.BAD_REQUEST('request headers too large')] : ['400 Bad Request', errors.BAD_REQUEST('malformed HTTP request')]
    const body = JSON.stringify({ error: e.code, message: e.message })
    if (socket.writable) socket.write(`HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`)
    socket.destroy(err)
  }
}
