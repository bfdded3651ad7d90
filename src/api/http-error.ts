/**
 * The one error type of the HTTP layer. Handlers throw it for expected failures (bad input, bad
 * key, unknown profile); the server's error handler turns it, and only it, into a JSON body
 * `{ error: { code, message, field? } }` with its status.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
