/**
 * @module dhcp/metrics
 * The DHCP server's Prometheus metrics. Per-packet counts by label are kept in plain maps and
 * handed to prom-client when the registry is read (`collect`), so a datagram costs a map
 * increment rather than prom-client's label hashing and validation.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

/** A counter with one label whose hot-path increments are batched until scrape time. */
export class LabelledCount {
  private readonly counts = new Map<string, number>();
  private readonly reported = new Map<string, number>();
  readonly counter: Counter<string>;

  constructor(
    reg: Registry,
    name: string,
    help: string,
    private readonly label: string,
  ) {
    this.counter = new Counter({
      name,
      help,
      labelNames: [label],
      registers: [reg],
      collect: () => {
        this.report();
      },
    });
  }

  inc(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  private report(): void {
    for (const [v, n] of this.counts) {
      const delta = n - (this.reported.get(v) ?? 0);
      if (delta > 0) this.counter.inc({ [this.label]: v }, delta);
      this.reported.set(v, n);
    }
  }
}

export function makeDhcpMetrics(reg: Registry) {
  return {
    received: new LabelledCount(
      reg,
      'kickstand_dhcp_received_total',
      'DHCP datagrams received, by message type',
      'type',
    ),
    replies: new LabelledCount(reg, 'kickstand_dhcp_replies_total', 'DHCP replies sent, by message type', 'type'),
    malformed: new LabelledCount(
      reg,
      'kickstand_dhcp_malformed_total',
      'Malformed DHCP datagrams dropped, by reason',
      'reason',
    ),
    ignored: new LabelledCount(
      reg,
      'kickstand_dhcp_ignored_total',
      'Well-formed DHCP requests not answered, by reason',
      'reason',
    ),
    errors: new Counter({
      name: 'kickstand_dhcp_errors_total',
      help: 'DHCP requests that failed (store or socket error); no reply sent',
      registers: [reg],
    }),
    leases: new Gauge({ name: 'kickstand_dhcp_leases', help: 'Lease rows known to the DHCP server', registers: [reg] }),
  };
}
