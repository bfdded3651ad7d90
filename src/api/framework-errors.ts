import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Answers what Node's HTTP parser refuses before any route runs, in kith's error shape
 * `{ error: { code, message } }`, then closes the connection: a request not received in full within
 * the time limits (408, slow-loris clients), headers over Node's size limit (431), and malformed
 * HTTP such as an invalid Content-Length or bytes not allowed in a header (400).
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reason, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request_timeout', 'the request was not received in full within the time limit; the connection is closed']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'headers_too_large', 'the request headers are larger than the limit (16 KB)']
        : [400, 'Bad Request', 'malformed_request', `the request is not valid HTTP/1.1${err.code === undefined ? '' : ` (${err.code})`}`];
  const body = JSON.stringify({ error: { code, message } });
  // Nothing can be written once this request's response has started, or after the client left
  // (Node keeps the response being written on the socket as `_httpMessage`).
  const response = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && response?.headersSent !== true) {
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/**
 * The router's refusals, in kith's error shape: a path that is not valid percent-encoding, or a
 * path parameter longer than the router allows.
 */
export function frameworkErrorHandler(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      void reply.status(400).send({ error: { code: 'invalid_url', message: 'the path is not valid percent-encoded UTF-8' } });
      return;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      void reply.status(414).send({ error: { code: 'path_too_long', message: 'a path segment is longer than the limit' } });
      return;
    default:
      void reply.status(400).send({ error: { code: 'bad_request', message: err.message } });
  }
}
