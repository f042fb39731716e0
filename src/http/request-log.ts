/**
 * @module http/request-log
 * One debug line per request with method, path (install tokens redacted), status and time.
 * /images/ requests do not pass through express (src/http/server.ts dispatch): the assets
 * handler logs those itself ("asset response", component http-assets). The boot routes' fast
 * path (src/http/boot/fast-path.ts) logs through {@link logRequest}, the same line.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { redactSecrets, type Logger } from '../log';

/** Logs `req` when its response finishes; `url` is the URL as received (express's originalUrl). */
export function logRequest(log: Logger, req: IncomingMessage, res: ServerResponse, url: string): void {
  const t0 = process.hrtime.bigint();
  res.on('finish', () => {
    if (!log.isLevelEnabled('debug')) return;
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    log.debug(
      {
        method: req.method,
        path: redactSecrets(url),
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        remote: req.socket.remoteAddress,
      },
      'http request',
    );
  });
}

export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    logRequest(log, req, res, req.originalUrl);
    next();
  };
}
