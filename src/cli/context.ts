/**
 * @module cli/context
 * What every client command needs: an API client built from global options, the environment
 * and, when one is named or present, the config file (for stateDir, api.tokenFile, api.listen
 * and api.tls.cert, whose fingerprint is then pinned).
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ApiClient, type ClientOptions } from './client';

export interface GlobalOpts {
  server?: string;
  token?: string;
  stateDir?: string;
  config?: string;
  ca?: string;
  json?: boolean;
}

export function clientFor(cmd: Command, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const g = cmd.optsWithGlobals<GlobalOpts>();
  const opts: ClientOptions = { server: g.server, token: g.token, stateDir: g.stateDir, ca: g.ca };
  const needsConfig = opts.token === undefined && env.KICKSTAND_TOKEN === undefined;
  const needsServer = opts.server === undefined && env.KICKSTAND_URL === undefined;
  const needsPin = opts.ca === undefined && env.KICKSTAND_CA === undefined;
  if (!needsConfig && !needsServer && !needsPin) return new ApiClient(opts, env);
  // Loaded on use: zod and yaml are most of a client command's start-up time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require('../config/load') as typeof import('../config/load');
  const file =
    g.config ?? env.KICKSTAND_CONFIG ?? (existsSync(load.DEFAULT_CONFIG_PATH) ? load.DEFAULT_CONFIG_PATH : undefined);
  if (file !== undefined) {
    const c = load.loadConfig({ file, env, overrides: g.stateDir ? { stateDir: g.stateDir } : {} });
    opts.stateDir ??= c.stateDir;
    opts.tokenFile = c.api.tokenFile ?? join(c.stateDir, 'api-token');
    const tls = c.api.tls.cert !== null;
    if (needsServer) opts.server = apiUrl(c.api.listen, tls, load.splitHostPort);
    // The daemon's own certificate, when this user can read it: the local admin needs no --ca.
    if (needsPin && tls && readable(c.api.tls.cert!)) opts.ca = c.api.tls.cert!;
  }
  return new ApiClient(opts, env);
}

/** The URL a client on this host uses for `api.listen`. */
export function apiUrl(listen: string, tls: boolean, split: (l: string) => [string, number]): string {
  if (listen.startsWith('unix:')) return listen;
  const [host, port] = split(listen);
  const h = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${h}:${port}`;
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
