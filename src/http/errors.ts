/**
 * @module http/errors
 * The one mapping from errors to HTTP responses: KickstandError → its status and
 * `{code, message, field?, fix?}`; body-parser failures → 400; anything else → 500 with a
 * generic body (details go to the log, not to the client).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { ErrorCode, KickstandError, isKickstandError } from '../errors';
import type { Logger } from '../log';
import { replyJson } from './reply';

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
    const ke = logError(log, err, req.method, req.path);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.status(ke.status).json(ke.toJSON());
  };
}

/**
 * errorHandler for routes that run without express (the boot fast path, src/http/server.ts):
 * the same log line and reply. `path` is the URL path without its query, as express's `req.path`.
 */
export function replyError(log: Logger, err: unknown, req: IncomingMessage, res: ServerResponse, path: string): void {
  const ke = logError(log, err, req.method, path);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  replyJson(req, res, ke.status, ke.toJSON());
}

function logError(log: Logger, err: unknown, method: string | undefined, path: string): KickstandError {
  const ke = toKickstandError(err);
  if (ke.code === ErrorCode.INTERNAL) log.error({ err, method, path }, 'request failed');
  else log.debug({ code: ke.code, method, path }, 'request refused');
  return ke;
}

export function notFoundHandler(req: Request, _res: Response, next: NextFunction): void {
  next(
    new KickstandError(ErrorCode.NOT_FOUND, `no route for ${req.method} ${req.path}`, {
      fix: 'see docs/api.md for the routes',
    }),
  );
}
