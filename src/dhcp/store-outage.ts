/**
 * @module dhcp/store-outage
 * What the DHCP server says while its store cannot be reached (a PostgreSQL restart or a
 * network partition, docs/scale-out.md): a request whose lease could not be committed gets no
 * reply (never an ACK for an uncommitted lease, RFC 2131 §4.3.1; the client retransmits), is
 * counted as `kickstand_dhcp_ignored_total{reason="store-unavailable"}`, and the gauge
 * `kickstand_dhcp_store_unavailable` is 1. The log says it once when the outage starts, then
 * at most every 10 s with the count, and once when a commit succeeds again, instead of a line
 * per datagram.
 */
import { Gauge, type Registry } from 'prom-client';
import { ErrorCode, KickstandError } from '../errors';
import type { Logger } from '../log';

const REPEAT_MS = 10_000;

export function isStoreUnavailable(err: unknown): boolean {
  return err instanceof KickstandError && err.code === ErrorCode.UNAVAILABLE;
}

export class StoreOutage {
  private since: number | undefined;
  private dropped = 0;
  private events = 0;
  private lastLog = 0;
  private readonly gauge: Gauge;

  constructor(
    reg: Registry,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.gauge = new Gauge({
      name: 'kickstand_dhcp_store_unavailable',
      help: '1 while the store cannot be reached: leases cannot be committed, requests get no reply',
      registers: [reg],
    });
  }

  get active(): boolean {
    return this.since !== undefined;
  }

  /** A request was dropped (`event`: a timeline event was lost) because the store is unreachable. */
  failed(err: unknown, what: 'request' | 'event' = 'request'): void {
    const t = this.now();
    if (what === 'request') this.dropped += 1;
    else this.events += 1;
    const message = (err as Error).message;
    if (this.since === undefined) {
      this.since = t;
      this.lastLog = t;
      this.gauge.set(1);
      this.log.warn(
        { error: message },
        'dhcp: store unreachable; leases cannot be committed, so requests get no reply until it is back',
      );
    } else if (t - this.lastLog >= REPEAT_MS) {
      this.lastLog = t;
      this.log.warn(
        { error: message, dropped: this.dropped, eventsLost: this.events, forMs: t - this.since },
        'dhcp: store still unreachable; requests dropped',
      );
    }
  }

  /** A lease was committed (or a request answered): the outage, if any, is over. */
  recovered(): void {
    if (this.since === undefined) return;
    this.log.warn(
      { dropped: this.dropped, eventsLost: this.events, forMs: this.now() - this.since },
      'dhcp: store reachable again; serving',
    );
    this.since = undefined;
    this.dropped = 0;
    this.events = 0;
    this.gauge.set(0);
  }
}
