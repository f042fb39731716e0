/**
 * @module http/server
 * The HTTP listener as a lifecycle Service. Timeouts are explicit (slowloris: Node CVE-2018-12122,
 * CVE-2019-5737): headers must arrive within 20 s, a request within 5 min (large asset
 * downloads are responses, not requests, and are not cut). Stop lets in-flight requests finish
 * for up to `graceMs`, then closes what is left.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import { closeGracefully, LISTENER_TIMEOUTS } from './listener';

/** TCP accept backlog of the HTTP listener (capped by the kernel's net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

/**
 * A handler for URLs under `prefix`, called without express: boot assets (/images/) and the
 * boot scripts and kickstarts (http/boot/fast-path.ts) are the daemon's hot paths, and
 * express's routing and request decoration cost more per request than sending a 1 MiB range
 * (bench/RESULTS.md). `rest` is the URL from the prefix's last character on (for a prefix
 * ending in `/`, that `/`), with the query string. A handler that returns `false` has not
 * touched the response: the request goes on to express.
 */
export interface FastPath {
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, rest: string): void | boolean;
}

/** The request listener: fast paths by URL prefix, everything else to express. */
export function dispatch(app: Express, fast: readonly FastPath[]): (req: IncomingMessage, res: ServerResponse) => void {
  if (fast.length === 0) return app;
  return (req, res) => {
    const url = req.url ?? '/';
    for (const f of fast)
      if (url.startsWith(f.prefix)) {
        if (f.handle(req, res, url.slice(f.prefix.length - 1)) === false) break;
        return;
      }
    app(req, res);
  };
}

export class HttpService implements Service {
  readonly name = 'http';
  private server: Server | null = null;

  constructor(
    private readonly app: Express,
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    private readonly fastPaths: readonly FastPath[] = [],
    private readonly graceMs = 10_000,
  ) {}

  start(): Promise<void> {
    const server = createServer(LISTENER_TIMEOUTS, dispatch(this.app, this.fastPaths));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // A rack powering on at once opens hundreds of connections in the same instant (iPXE
      // script, kernel, initrd, kickstart per machine). Node's default accept backlog (511)
      // overflowed in the 1,000-client boot storm (ListenOverflows, clients timing out on SYN
      // retries; bench/RESULTS.md "Boot storm"); the kernel caps this at net.core.somaxconn.
      server.listen({ port: this.port, host: this.host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        const a = server.address() as AddressInfo;
        this.log.info({ address: a.address, port: a.port }, 'http listening');
        resolve();
      });
    });
  }

  /** The bound address (port 0 resolves to the real port). */
  address(): AddressInfo | null {
    return (this.server?.address() as AddressInfo | null) ?? null;
  }

  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.server = null;
    return closeGracefully(server, this.graceMs);
  }
}
