/**
 * @module http/api-server
 * The API listener as a lifecycle Service: `api.listen` is `HOST:PORT` (HTTPS when a TLS pair
 * is given, which config/sections/api.ts requires off loopback) or `unix:/path` (mode 0660:
 * the owner and its group, e.g. `kickstand`). Same timeouts as the machine listener
 * (http/server.ts); no /images fast path: nothing here is bulk.
 */
import { chmodSync, lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { ErrorCode, KickstandError } from '../errors';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import { closeGracefully, LISTENER_TIMEOUTS } from './listener';

export interface ApiListenOptions {
  /** `HOST:PORT` or `unix:/path`. */
  listen: string;
  tls: { cert: string; key: string } | null;
  graceMs?: number;
}

export class ApiService implements Service {
  readonly name = 'api';
  private server: Server | null = null;

  constructor(
    private readonly app: Express,
    private readonly opts: ApiListenOptions,
    private readonly log: Logger,
  ) {}

  get scheme(): 'http' | 'https' {
    return this.opts.tls ? 'https' : 'http';
  }

  start(): Promise<void> {
    const server = this.opts.tls
      ? createHttps(
          { ...LISTENER_TIMEOUTS, cert: readPem(this.opts.tls.cert, 'cert'), key: readPem(this.opts.tls.key, 'key') },
          this.app,
        )
      : createHttp(LISTENER_TIMEOUTS, this.app);
    this.server = server;
    const socket = this.opts.listen.startsWith('unix:') ? this.opts.listen.slice(5) : null;
    if (socket !== null) removeStaleSocket(socket);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const ready = (): void => {
        server.off('error', reject);
        if (socket !== null) chmodSync(socket, 0o660);
        this.log.info({ url: this.url() }, 'api listening');
        resolve();
      };
      if (socket !== null) server.listen(socket, ready);
      else {
        const i = this.opts.listen.lastIndexOf(':');
        const host = this.opts.listen.slice(0, i).replace(/^\[|\]$/g, '');
        server.listen({ host, port: Number(this.opts.listen.slice(i + 1)) }, ready);
      }
    });
  }

  /** The bound TCP address (port 0 resolves), or null for a unix socket or when stopped. */
  address(): AddressInfo | null {
    const a = this.server?.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  /** What a client connects to: `http(s)://HOST:PORT` or `unix:/path`. */
  url(): string {
    const a = this.address();
    if (a === null) return this.opts.listen;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.scheme}://${host}:${a.port}`;
  }

  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = null;
    return closeGracefully(server, this.opts.graceMs ?? 10_000);
  }
}

function readPem(file: string, what: 'cert' | 'key'): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new KickstandError(
      ErrorCode.CONFIG_UNREADABLE,
      `cannot read the API's TLS ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
      {
        field: `api.tls.${what}`,
        fix: 'make one with `kickstand api cert`, or point api.tls at a readable PEM file',
        cause: e,
      },
    );
  }
}

/** A socket file left by a daemon that died is removed; any other file there is refused. */
function removeStaleSocket(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket())
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `api.listen ${path} exists and is not a socket`, {
      field: 'api.listen',
      fix: 'point api.listen at a path that is free or an old kickstand socket',
    });
  unlinkSync(path);
}
