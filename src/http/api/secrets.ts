/**
 * @module http/api/secrets
 * /api/v1/secrets — secrets at rest (auth/sealed-secrets.ts). Admin only (a POST).
 *   POST /secrets/rotate   → {keyId, resealed, dropped}: a new key, every value re-sealed, old keys dropped
 */
import { Router } from 'express';
import type { RotateResult } from '../../auth/sealed-secrets';

export function secretsRouter(deps: { rotate: () => Promise<RotateResult> }): Router {
  const r = Router();
  r.post('/secrets/rotate', async (_req, res) => {
    res.json(await deps.rotate());
  });
  return r;
}
