/**
 * @module http/auth
 * Bearer-token check for every /api/v1 route (RFC 6750 §2.1). Fails closed: any error in
 * here is a 401, never a pass (Cobbler CVE-2024-47533 was an auth helper returning -1).
 */
import type { NextFunction, Request, Response } from 'express';
import { ErrorCode, KickstandError } from '../errors';
import { tokenMatches } from '../auth/api-token';

export function requireBearer(expected: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    let ok = false;
    try {
      const h = req.get('authorization') ?? '';
      const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(h.trim());
      ok = m !== null && tokenMatches(m[1]!, expected);
    } catch {
      ok = false;
    }
    if (ok) return next();
    res.set('WWW-Authenticate', 'Bearer realm="kickstand"');
    next(
      new KickstandError(ErrorCode.UNAUTHORIZED, 'missing or wrong API token', {
        field: 'authorization',
        fix: 'send "Authorization: Bearer <token>"; the token is in <stateDir>/api-token (the CLI reads it, or set KICKSTAND_TOKEN)',
      }),
    );
  };
}
