/**
 * @module cli/context
 * What every client command needs: an API client built from global options, the environment
 * and, when one is named or present, the config file (for stateDir, api.tokenFile, listen).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ApiClient, type ClientOptions } from './client';

export interface GlobalOpts {
  server?: string;
  token?: string;
  stateDir?: string;
  config?: string;
  json?: boolean;
}

export function clientFor(cmd: Command, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const opts: ClientOptions = { server: g.server, token: g.token, stateDir: g.stateDir };
  const needsConfig = opts.token === undefined && env.KICKSTAND_TOKEN === undefined;
  const needsServer = opts.server === undefined && env.KICKSTAND_URL === undefined;
  if (!needsConfig && !needsServer) return new ApiClient(opts, env);
  // Loaded on use: zod and yaml are most of a client command's start-up time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require('../config/load') as typeof import('../config/load');
  const file =
    g.config ?? env.KICKSTAND_CONFIG ?? (existsSync(load.DEFAULT_CONFIG_PATH) ? load.DEFAULT_CONFIG_PATH : undefined);
  if (file !== undefined) {
    const c = load.loadConfig({ file, env, overrides: g.stateDir ? { stateDir: g.stateDir } : {} });
    opts.stateDir ??= c.stateDir;
    opts.tokenFile = c.api.tokenFile ?? join(c.stateDir, 'api-token');
    if (needsServer) {
      const [host, port] = load.splitHostPort(c.http.listen);
      const h =
        host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
      opts.server = `http://${h}:${port}`;
    }
  }
  return new ApiClient(opts, env);
}
