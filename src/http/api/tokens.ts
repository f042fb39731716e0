/**
 * @module http/api/tokens
 * /api/v1/tokens — the API's tokens (auth/tokens.ts). Writes need scope admin (http/auth.ts).
 *   GET    /tokens          → {tokens: [{name, scope, createdAt, createdBy, builtIn?}]} (never a secret)
 *   POST   /tokens          {name, scope} → 201 {token, name, scope, …}: the secret, shown once
 *   DELETE /tokens/:name    → 204
 */
import { Router } from 'express';
import { ErrorCode, KickstandError } from '../../errors';
import type { ApiTokens } from '../../auth/tokens';
import { principalOf } from '../auth';

export function tokensRouter(tokens: ApiTokens): Router {
  const r = Router();

  r.get('/tokens', (_req, res) => {
    res.json({ tokens: tokens.list() });
  });

  r.post('/tokens', (req, res) => {
    const b = (req.body ?? {}) as { name?: unknown; scope?: unknown };
    const { token, info } = tokens.create(b.name, b.scope ?? 'read', principalOf(res)?.name ?? '?');
    res
      .status(201)
      .set('Cache-Control', 'no-store')
      .json({ ...info, token });
  });

  r.delete('/tokens/:name', (req, res) => {
    if (!tokens.revoke(req.params.name))
      throw new KickstandError(ErrorCode.NOT_FOUND, `no token named ${req.params.name}`, {
        fix: 'list them with kickstand token list',
      });
    res.status(204).end();
  });

  return r;
}
