/**
 * @module http/boot
 * The machine-facing boot routes (`mounts`: /boot.ipxe, /ipxe/:mac, /ks/:token,
 * /cb/:token/:kind) and the operator's render dry run (`apiRouters`), ready for createApp.
 */
import { Router } from 'express';
import { callbackRouter } from './callback-routes';
import { bootMetrics, type BootDeps } from './deps';
import { ipxeRouter } from './ipxe-routes';
import { kickstartRouter } from './kickstart-routes';
import { renderApiRouter } from './render-api';

export type { BootDeps, BootRouteConfig } from './deps';

export function bootRoutes(deps: BootDeps): { mounts: Array<{ path: string; router: Router }>; apiRouters: Router[] } {
  const m = bootMetrics(deps.metrics);
  const machine = Router();
  machine.use(ipxeRouter(deps, m));
  machine.use(kickstartRouter(deps, m));
  machine.use(callbackRouter(deps, m));
  return { mounts: [{ path: '/', router: machine }], apiRouters: [renderApiRouter(deps)] };
}
