/**
 * @module http/app
 * The two express applications, without listening (tests drive them on an ephemeral port or
 * in-process). They are served on two listeners (docs/api.md, "Two listeners"):
 *
 * `createMachineApp` — `http.listen`, the provisioning segment. Only what machines fetch:
 *   /healthz            liveness + store ping (no auth: holds no data)
 *   mounts              iPXE/GRUB scripts, kickstarts, callbacks, /images; machines cannot hold
 *                       an API token, so these are guarded by one-time install tokens and the
 *                       client's address instead. /api/v1 and /metrics are 404 here.
 *
 * `createApiApp` — `api.listen`, loopback, a unix socket, or TLS:
 *   /healthz            as above
 *   /metrics            Prometheus exposition (bearer token, any scope)
 *   /api/v1/…           operator API: bearer token and scope on every route, writes audited
 *   /console/…          the web console (docs/console.md): static files and login; its browser
 *                       calls /api/v1 with a session cookie and a CSRF token instead of a bearer
 */
import express, { Router, type Express, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import type { HostRegistry } from '../hosts/registry';
import type { Store } from '../store/store';
import type { Timeline } from '../timeline';
import type { ApiTokens } from '../auth/tokens';
import { auditWrites } from './audit';
import { requireBearer, requireScope, type Authenticator } from './auth';
import { errorHandler, notFoundHandler } from './errors';
import { requestLog } from './request-log';
import { discoveredRouter } from './api/discovered';
import { eventsRouter } from './api/events';
import { hostsRouter } from './api/hosts';
import { tokensRouter } from './api/tokens';
import { consoleRouter } from './console/routes';
import { ConsoleSessions } from './console/sessions';

/** Request body limit of POST /api/v1/hosts/import (every other API route: 1 MiB). */
export const IMPORT_BODY_LIMIT = '16mb';

export interface MachineAppDeps {
  store: Store;
  log: Logger;
  /** Machine-facing routers mounted at their path (no bearer). */
  mounts?: Array<{ path: string; router: Router }>;
}

export interface ApiAppDeps {
  store: Store;
  registry: HostRegistry;
  timeline: Timeline;
  log: Logger;
  metrics: Registry;
  /** Bearer tokens and scopes; `ApiTokens` also serves /api/v1/tokens. */
  tokens: Authenticator | ApiTokens;
  /** Extra /api/v1 routers (behind the bearer and scope checks), e.g. render, reimage. */
  apiRouters?: Router[];
  /** The console's login sessions; default: a fresh in-memory set over `tokens`. */
  sessions?: ConsoleSessions;
}

function baseApp(log: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', false); // req.ip is the socket peer: boot routes bind tokens to it
  app.use(requestLog(log.child({ component: 'http' })));
  return app;
}

const healthz = (store: Store) => async (_req: Request, res: Response) => {
  await store.ping();
  res.json({ ok: true, store: store.kind });
};

export function createMachineApp(deps: MachineAppDeps): Express {
  const app = baseApp(deps.log);
  app.get('/healthz', healthz(deps.store));
  for (const m of deps.mounts ?? []) app.use(m.path, m.router);
  app.use(notFoundHandler);
  app.use(errorHandler(deps.log.child({ component: 'http' })));
  return app;
}

export function createApiApp(deps: ApiAppDeps): Express {
  const app = baseApp(deps.log);
  app.get('/healthz', healthz(deps.store));
  app.get('/metrics', requireBearer(deps.tokens), async (_req, res) => {
    res.type(deps.metrics.contentType).send(await deps.metrics.metrics());
  });
  const sessions = deps.sessions ?? new ConsoleSessions(deps.tokens);
  app.use('/api/v1', apiRouter({ ...deps, sessions }));
  app.use(consoleRouter({ sessions }));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.log.child({ component: 'api' })));
  return app;
}

/** The /api/v1 router: bearer, body, audit, scope, then every resource router. Exported for the auth walk test. */
export function apiRouter(deps: ApiAppDeps): Router {
  const api = Router();
  api.use(requireBearer(deps.tokens, deps.sessions));
  // A bulk import carries up to MAX_IMPORT_ROWS hosts (hosts/import.ts): ~200 bytes each.
  api.use('/hosts/import', express.json({ limit: IMPORT_BODY_LIMIT }));
  api.use(express.json({ limit: '1mb' }));
  api.use(auditWrites(deps.store));
  api.use(requireScope());
  api.use(hostsRouter(deps));
  api.use(eventsRouter(deps));
  api.use(discoveredRouter(deps));
  if ('create' in deps.tokens) api.use(tokensRouter(deps.tokens));
  for (const r of deps.apiRouters ?? []) api.use(r);
  return api;
}
