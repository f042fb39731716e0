/**
 * @module http/console/routes
 * The web console on the API listener (docs/console.md): its static files from `console/` at
 * the repository (or package) root, and login, session and logout. Everything else the console
 * shows or does goes through /api/v1 with the session cookie (http/auth.ts), so scopes, the
 * audit trail and every rule of the API apply to it unchanged.
 *
 * Static files are read once at start and served with a strong ETag and `Cache-Control:
 * no-cache` (RFC 9111 §5.2.2.4: the browser keeps them and revalidates, a 304 when unchanged),
 * and every console answer carries a Content-Security-Policy that allows only this origin's
 * own files: no inline script or style, no eval, no other origin (docs/console.md, "CSP").
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { ErrorCode, KickstandError } from '../../errors';
import { csrfMatches, readCookie, SESSION_COOKIE, type ConsoleSessions } from './sessions';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

/** `console/` beside `src/` (from source) or beside `dist/` (compiled, and in the package). */
export function consoleDir(): string {
  return resolve(__dirname, __filename.endsWith('.ts') ? '../../..' : '../../../..', 'console');
}

function loadStatic(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    files.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return files;
}

function securityHeaders(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
  next();
}

/** A login or logout posted from another origin is refused (the cookie is SameSite=Strict too). */
function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.get('host');
  } catch {
    return false;
  }
}

const forbidden = (message: string, fix: string): KickstandError =>
  new KickstandError(ErrorCode.FORBIDDEN, message, { fix });

export function consoleRouter(deps: { sessions: ConsoleSessions; dir?: string }): Router {
  const files = loadStatic(deps.dir ?? consoleDir());
  const r = Router();
  const sendFile = (name: string) => (req: Request, res: Response, next: NextFunction) => {
    const f = files.get(name);
    if (!f) return next();
    res.set({ 'Content-Type': f.type, ETag: f.etag, 'Cache-Control': 'no-cache' });
    if (req.get('if-none-match') === f.etag) return void res.status(304).end();
    res.send(f.body);
  };

  r.get('/', (_req, res) => res.redirect(302, '/console/'));
  r.use('/console', securityHeaders);
  // Non-strict routing matches /console and /console/ alike; the page's relative URLs need the slash.
  r.get('/console/', (req, res, next) => {
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(302, '/console/');
    sendFile('index.html')(req, res, next);
  });
  r.get('/console/:file', (req, res, next) => sendFile(String(req.params.file))(req, res, next));

  r.post('/console/login', express.json({ limit: '4kb' }), (req, res) => {
    if (!sameOrigin(req)) throw forbidden('login from another origin', 'open the console from its own address');
    const token = (req.body as { token?: unknown } | undefined)?.token;
    const opened = typeof token === 'string' && token.length <= 512 ? deps.sessions.open(token.trim()) : null;
    if (opened === null)
      throw new KickstandError(ErrorCode.UNAUTHORIZED, 'wrong API token', {
        field: 'token',
        fix: 'paste a token: the first admin token is in <stateDir>/api-token; `kickstand token create` makes others',
      });
    const secure = req.secure ? '; Secure' : '';
    res.set('Set-Cookie', `${SESSION_COOKIE}=${opened.id}; Path=/; HttpOnly; SameSite=Strict${secure}`);
    res.set('Cache-Control', 'no-store');
    res.json(opened.view);
  });

  r.get('/console/session', (req, res) => {
    const view = deps.sessions.lookup(readCookie(req.get('cookie'), SESSION_COOKIE));
    res.set('Cache-Control', 'no-store');
    if (view === null)
      throw new KickstandError(ErrorCode.UNAUTHORIZED, 'not logged in to the console', { fix: 'log in with a token' });
    res.json(view);
  });

  r.post('/console/logout', (req, res) => {
    const id = readCookie(req.get('cookie'), SESSION_COOKIE);
    const view = deps.sessions.lookup(id);
    if (view !== null && (!sameOrigin(req) || !csrfMatches(view, req.get('x-csrf-token'))))
      throw forbidden('missing or wrong CSRF token for this console session', 'log out from the console page');
    deps.sessions.close(id);
    res.set('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    res.status(204).end();
  });

  return r;
}
