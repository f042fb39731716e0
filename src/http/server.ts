/**
 * @module http/server
 * The HTTP listener as a lifecycle Service. Timeouts are explicit (slowloris: Node CVE-2018-12122,
 * CVE-2019-5737): headers must arrive within 20 s, a request within 5 min (large asset
 * downloads are responses, not requests, and are not cut). Stop lets in-flight requests finish
 * for up to `graceMs`, then closes what is left.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';

export class HttpService implements Service {
  readonly name = 'http';
  private server: Server | null = null;

  constructor(
    private readonly app: Express,
    private readonly host: string,
    private readonly port: number,
    private readonly log: Logger,
    private readonly graceMs = 10_000,
  ) {}

  start(): Promise<void> {
    const server = createServer({ headersTimeout: 20_000, requestTimeout: 300_000, keepAliveTimeout: 5_000 }, this.app);
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
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
    return new Promise((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), this.graceMs);
      force.unref();
      server.close(() => {
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
  }
}
