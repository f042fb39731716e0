/**
 * @module http/app
 * `createApp(deps)`: the express application, without listening (tests drive it on an
 * ephemeral port or in-process). Layout:
 *   /healthz            liveness + store ping (no auth: holds no data)
 *   /metrics            Prometheus exposition (no auth: counters only, no secrets)
 *   /api/v1/…           operator API, bearer token on every route
 *   mounts              machine-facing boot routes (iPXE scripts, kickstarts, callbacks,
 *                       /images); machines cannot hold the API token, so these are guarded by
 *                       one-time install tokens and the client's address instead.
 */
import express, { Router, type Express } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import type { HostRegistry } from '../hosts/registry';
import type { Store } from '../store/store';
import type { Timeline } from '../timeline';
import { requireBearer } from './auth';
import { errorHandler, notFoundHandler } from './errors';
import { requestLog } from './request-log';
import { eventsRouter } from './api/events';
import { hostsRouter } from './api/hosts';

/** Request body limit of POST /api/v1/hosts/import (every other API route: 1 MiB). */
export const IMPORT_BODY_LIMIT = '16mb';

export interface AppDeps {
  store: Store;
  registry: HostRegistry;
  timeline: Timeline;
  log: Logger;
  metrics: Registry;
  apiToken: string;
  /** Extra /api/v1 routers (behind the bearer check), e.g. leases, render, reimage. */
  apiRouters?: Router[];
  /** Machine-facing routers mounted at their path (no bearer). */
  mounts?: Array<{ path: string; router: Router }>;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false); // req.ip is the socket peer: boot routes bind tokens to it
  app.use(requestLog(deps.log.child({ component: 'http' })));

  app.get('/healthz', async (_req, res) => {
    await deps.store.ping();
    res.json({ ok: true, store: deps.store.kind });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });

  app.use('/api/v1', apiRouter(deps));
  for (const m of deps.mounts ?? []) app.use(m.path, m.router);

  app.use(notFoundHandler);
  app.use(errorHandler(deps.log.child({ component: 'http' })));
  return app;
}

/** The /api/v1 router: bearer check first, then every resource router. Exported for the auth walk test. */
export function apiRouter(deps: AppDeps): Router {
  const api = Router();
  api.use(requireBearer(deps.apiToken));
  // A bulk import carries up to MAX_IMPORT_ROWS hosts (hosts/import.ts): ~200 bytes each.
  api.use('/hosts/import', express.json({ limit: IMPORT_BODY_LIMIT }));
  api.use(express.json({ limit: '1mb' }));
  api.use(hostsRouter(deps));
  api.use(eventsRouter(deps));
  for (const r of deps.apiRouters ?? []) api.use(r);
  return api;
}
