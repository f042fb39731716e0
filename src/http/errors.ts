/**
 * @module http/errors
 * The one mapping from errors to HTTP responses: KickstandError → its status and
 * `{code, message, field?, fix?}`; body-parser failures → 400; anything else → 500 with a
 * generic body (details go to the log, not to the client).
 */
import type { NextFunction, Request, Response } from 'express';
import { ErrorCode, KickstandError, isKickstandError } from '../errors';
import type { Logger } from '../log';

export function toKickstandError(err: unknown): KickstandError {
  if (isKickstandError(err)) return err;
  const e = err as { type?: string; status?: number; message?: string };
  if (e && e.type === 'entity.parse.failed') {
    return new KickstandError(ErrorCode.INVALID_INPUT, 'request body is not valid JSON', {
      field: 'body',
      fix: 'send a JSON object with Content-Type: application/json',
    });
  }
  if (e && e.type === 'entity.too.large') {
    const limit = (e as { limit?: number }).limit;
    return new KickstandError(ErrorCode.INVALID_INPUT, 'request body is too large', {
      field: 'body',
      fix: `send at most ${limit ?? 1048576} bytes (a host import: split the file)`,
    });
  }
  return new KickstandError(ErrorCode.INTERNAL, 'internal error', { cause: err });
}

export function errorHandler(log: Logger) {
  // Express recognises error handlers by arity: keep all four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const ke = toKickstandError(err);
    if (ke.code === ErrorCode.INTERNAL) log.error({ err, method: req.method, path: req.path }, 'request failed');
    else log.debug({ code: ke.code, method: req.method, path: req.path }, 'request refused');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(ke.status).json(ke.toJSON());
  };
}

export function notFoundHandler(req: Request, _res: Response, next: NextFunction): void {
  next(
    new KickstandError(ErrorCode.NOT_FOUND, `no route for ${req.method} ${req.path}`, {
      fix: 'see docs/api.md for the routes',
    }),
  );
}
