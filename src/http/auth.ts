/**
 * @module http/auth
 * Bearer-token check for every /api/v1 route (RFC 6750 §2.1), then the token's scope. Fails
 * closed: any error in here is a 401, never a pass (Cobbler CVE-2024-47533 was an auth helper
 * returning -1). The scope rule is by method, so a new write route cannot be left open to a
 * read token by forgetting to mark it: `read` may only GET and HEAD, and never ask for
 * secrets in clear (`showSecrets`).
 * The web console's browser has no bearer header: without one, its session cookie stands for the
 * token it logged in with (http/console/sessions.ts), and every write must carry the session's
 * CSRF token in `X-CSRF-Token`, else 403 (docs/console.md, "CSRF").
 */
import type { NextFunction, Request, Response } from 'express';
import { ErrorCode, KickstandError } from '../errors';
import type { Principal } from '../auth/tokens';
import { csrfMatches, readCookie, SESSION_COOKIE, type ConsoleSessions } from './console/sessions';

/** What the check needs: a token → its principal, or null. */
export interface Authenticator {
  authenticate(presented: string): Principal | null;
}

/** The request's principal, set by {@link requireBearer}. */
export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

export function requireBearer(tokens: Authenticator, sessions?: ConsoleSessions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    let who: Principal | null = null;
    try {
      const h = req.get('authorization') ?? '';
      if (h === '' && sessions !== undefined) {
        const view = sessions.lookup(readCookie(req.get('cookie'), SESSION_COOKIE));
        if (view !== null) {
          if (!READ_METHODS.has(req.method) && !csrfMatches(view, req.get('x-csrf-token'))) {
            return next(
              new KickstandError(ErrorCode.FORBIDDEN, 'missing or wrong CSRF token for this console session', {
                field: 'x-csrf-token',
                fix: 'reload the console page; a write from the console carries the token it was given at login',
              }),
            );
          }
          res.locals.principal = { name: view.name, scope: view.scope } satisfies Principal;
          return next();
        }
      }
      const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/i.exec(h.trim());
      who = m === null ? null : tokens.authenticate(m[1]!);
    } catch {
      who = null;
    }
    if (who !== null) {
      res.locals.principal = who;
      return next();
    }
    res.set('WWW-Authenticate', 'Bearer realm="kickstand"');
    next(
      new KickstandError(ErrorCode.UNAUTHORIZED, 'missing or wrong API token', {
        field: 'authorization',
        fix: 'send "Authorization: Bearer <token>"; the first admin token is in <stateDir>/api-token (the CLI reads it, or set KICKSTAND_TOKEN)',
      }),
    );
  };
}

const READ_METHODS = new Set(['GET', 'HEAD']);

/** True when `p` may make this request. */
export function scopeAllows(p: Principal, method: string, query: Record<string, unknown>): boolean {
  if (p.scope === 'admin') return true;
  return READ_METHODS.has(method) && query.showSecrets === undefined;
}

export function requireScope() {
  return (req: Request, res: Response, next: NextFunction): void => {
    const p = principalOf(res);
    if (p !== undefined && scopeAllows(p, req.method, req.query)) return next();
    next(
      new KickstandError(ErrorCode.FORBIDDEN, `token ${p?.name ?? '?'} (scope ${p?.scope ?? '?'}) may only read`, {
        field: 'authorization',
        fix: 'use a token of scope admin for writes and for showSecrets (kickstand token create --scope admin --name NAME)',
      }),
    );
  };
}
