/**
 * @module http/boot
 * The machine-facing boot routes (`mounts`: /boot.ipxe, /ipxe/:mac, /ks/:token,
 * /cb/:token/:kind), the fast paths that serve the first three without express
 * (`fastPaths`, ./fast-path.ts; the express routes stay for the URL forms the fast path leaves
 * to them) and the operator's render dry run (`apiRouters`), ready for createApp.
 */
import { Router } from 'express';
import type { FastPath } from '../server';
import { callbackRouter } from './callback-routes';
import { bootMetrics, type BootDeps } from './deps';
import { bootFastPaths } from './fast-path';
import { ipxeHandlers } from './ipxe-routes';
import { kickstartHandler } from './kickstart-routes';
import { renderApiRouter } from './render-api';

export type { BootDeps, BootRouteConfig } from './deps';

export function bootRoutes(deps: BootDeps): {
  mounts: Array<{ path: string; router: Router }>;
  fastPaths: FastPath[];
  apiRouters: Router[];
} {
  const m = bootMetrics(deps.metrics);
  const ipxe = ipxeHandlers(deps, m);
  const ks = kickstartHandler(deps, m);
  const machine = Router();
  machine.get('/boot.ipxe', (req, res) => ipxe.chain(req, res));
  machine.get('/ipxe/:mac', (req, res) => ipxe.script(req, res, String(req.params.mac)));
  machine.get('/ks/:token', (req, res) => ks(req, res, String(req.params.token)));
  machine.use(callbackRouter(deps, m));
  return {
    mounts: [{ path: '/', router: machine }],
    // The machine app's request log and error reply use this logger too (http/app.ts).
    fastPaths: bootFastPaths(ipxe, ks, deps.log.child({ component: 'http' })),
    apiRouters: [renderApiRouter(deps)],
  };
}
