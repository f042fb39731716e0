/**
 * @module store/postgres/host-feed
 * Keeps a daemon's host index current with host writes made through OTHER daemons on the same
 * database (docs/scale-out.md): every host write sends `NOTIFY kickstand_hosts, '<name>'`
 * inside its transaction (PostgreSQL delivers it at COMMIT, never for a rolled-back write), and
 * each store LISTENs on one dedicated connection and re-reads the named host. When that
 * connection drops, the feed reconnects (1 s, then up to 10 s apart) and reloads the whole
 * index, since notifications sent meanwhile are lost.
 */
import pg from 'pg';

export const HOSTS_CHANNEL = 'kickstand_hosts';

export interface HostFeedHandlers {
  /** Re-read one host (written through some daemon). */
  host(name: string): Promise<void>;
  /** Re-read every host (after a reconnect). */
  reload(): Promise<void>;
}

export class HostFeed {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 1000;
  private timer: NodeJS.Timeout | undefined;
  /** Notifications are applied one at a time, in arrival order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly on: HostFeedHandlers,
  ) {}

  /** Connects and LISTENs; rejects if the first connection fails (the store's open fails). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const c = new pg.Client(this.config);
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    c.on('notification', (n) => {
      if (n.channel !== HOSTS_CHANNEL || n.payload === undefined) return;
      const name = n.payload;
      this.chain = this.chain.then(() => this.on.host(name)).catch(() => undefined);
    });
    await c.connect();
    await c.query(`LISTEN ${HOSTS_CHANNEL}`);
    this.client = c;
    this.retryMs = 1000;
  }

  private lost(c: pg.Client): void {
    if (this.client !== c || this.stopped) return;
    this.client = undefined;
    c.end().catch(() => undefined);
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect().then(
        () => {
          this.chain = this.chain.then(() => this.on.reload()).catch(() => undefined);
        },
        () => {
          this.retryMs = Math.min(this.retryMs * 2, 10_000);
          this.schedule();
        },
      );
    }, this.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
    await this.chain;
  }
}
