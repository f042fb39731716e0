/**
 * @module store/postgres/host-feed
 * What other daemons on the same database write, as it commits (docs/scale-out.md), on one
 * dedicated LISTEN connection per store:
 * - `kickstand_hosts`, payload a host name: every host write sends it inside its transaction
 *   (PostgreSQL delivers a NOTIFY at COMMIT, never for a rolled-back write); the store re-reads
 *   that host into its index;
 * - `kickstand_events`, payload `<origin>:<id>`: every event append; the events of other
 *   origins (daemons) are read and handed to the followers (the daemon's live timeline).
 * When the connection drops, the feed reconnects (1 s, then up to 10 s apart) and reloads the
 * whole host index, since notifications sent meanwhile are lost (live events of that gap are
 * missed; the history in the database has them).
 */
import pg from 'pg';

export const HOSTS_CHANNEL = 'kickstand_hosts';
export const EVENTS_CHANNEL = 'kickstand_events';

export interface HostFeedHandlers {
  /** Re-read one host (written through some daemon). */
  host(name: string): Promise<void>;
  /** Re-read every host (after a reconnect). */
  reload(): Promise<void>;
  /** An event appended by daemon `origin`, id `id`. */
  event(origin: string, id: number): Promise<void>;
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

  private then(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const c = new pg.Client(this.config);
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    c.on('notification', (n) => {
      const payload = n.payload ?? '';
      if (n.channel === HOSTS_CHANNEL) this.then(() => this.on.host(payload));
      else if (n.channel === EVENTS_CHANNEL) {
        const i = payload.lastIndexOf(':');
        const id = Number(payload.slice(i + 1));
        if (i > 0 && Number.isSafeInteger(id)) this.then(() => this.on.event(payload.slice(0, i), id));
      }
    });
    await c.connect();
    await c.query(`LISTEN ${HOSTS_CHANNEL}; LISTEN ${EVENTS_CHANNEL}`);
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
        () => this.then(() => this.on.reload()),
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
