/**
 * @module http/audit
 * The audit trail: every write through /api/v1 (any method but GET and HEAD) first appends an
 * `api.write` event naming the token that makes it — to the host's timeline when the request is
 * about one host (`/hosts/NAME/…`, or the `name` of a host being created), else to the fleet's
 * (host null). The event is committed before the write runs, so it precedes what the write
 * causes on the timeline; if it cannot be recorded the write is refused (fails closed).
 * Writes a read token may not make are recorded too, then refused by the scope check.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Store } from '../store/store';
import { principalOf } from './auth';

const READ_METHODS = new Set(['GET', 'HEAD']);

/** The host a write under /api/v1 is about, or null. */
export function auditHost(path: string, method: string, body: unknown): string | null {
  const m = /^\/hosts\/([^/?]+)/.exec(path);
  if (m && m[1] !== 'import') return decodeURIComponent(m[1]!);
  if (method === 'POST' && /^\/hosts\/?$/.test(path)) {
    const name = (body as { name?: unknown } | undefined)?.name;
    return typeof name === 'string' && name.length <= 253 ? name : null;
  }
  return null;
}

export function auditWrites(store: Store) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (READ_METHODS.has(req.method)) return next();
    const who = principalOf(res);
    const token = who?.name ?? null;
    store.events
      .append({
        host: auditHost(req.path, req.method, req.body),
        kind: 'api.write',
        message: `${req.method} ${req.path} by token ${token ?? '?'} (${who?.scope ?? '?'})`,
        data: { token, scope: who?.scope ?? null, method: req.method, path: req.path },
      })
      .then(() => next(), next);
  };
}
