/**
 * @module http/request-log
 * One debug line per request with method, path (install tokens redacted), status and time.
 * /images/ requests do not pass through express (src/http/server.ts dispatch): the assets
 * handler logs those itself ("asset response", component http-assets).
 */
import type { NextFunction, Request, Response } from 'express';
import { redactSecrets, type Logger } from '../log';

export function requestLog(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const t0 = process.hrtime.bigint();
    res.on('finish', () => {
      if (!log.isLevelEnabled('debug')) return;
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      log.debug(
        {
          method: req.method,
          path: redactSecrets(req.originalUrl),
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          remote: req.socket.remoteAddress,
        },
        'http request',
      );
    });
    next();
  };
}
