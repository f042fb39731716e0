/**
 * @module model/discovered-macs
 * Which unknown MACs were already reported as discovered (`host.discovered`), for the DHCP
 * server (dhcp/context.ts) and the iPXE route (http/boot/ipxe-routes.ts) alike. Both are driven
 * by client-controlled MACs, so memory and timeline rows stay bounded (reliability D08, G7):
 * at most `capacity` MACs are remembered, the oldest forgotten first, and at most `perSecond`
 * new ones are admitted per second. A MAC refused by the rate is not remembered: a later
 * sighting reports it. Refusals are counted for one rate-limited log line.
 */
const DISCOVERED_CAPACITY = 10_000;
const DISCOVERED_PER_SECOND = 20;

export class DiscoveredMacs {
  private readonly seen = new Set<string>();
  private second = 0;
  private used = 0;
  private suppressed = 0;
  /** Refusals of seconds already over, not yet taken. */
  private unreported = 0;

  constructor(
    private readonly capacity = DISCOVERED_CAPACITY,
    private readonly perSecond = DISCOVERED_PER_SECOND,
  ) {}

  has(mac: string): boolean {
    return this.seen.has(mac);
  }

  get size(): number {
    return this.seen.size;
  }

  /** True when `mac` is new and within the rate: the caller reports it (it is remembered). */
  admit(mac: string, nowMs: number): boolean {
    if (this.seen.has(mac)) return false;
    const sec = Math.floor(nowMs / 1000);
    if (sec !== this.second) {
      this.unreported += this.suppressed;
      this.second = sec;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used >= this.perSecond) {
      this.suppressed += 1;
      return false;
    }
    this.used += 1;
    if (this.seen.size >= this.capacity) {
      const oldest = this.seen.values().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    this.seen.add(mac);
    return true;
  }

  /** New MACs refused by the rate in seconds already over; resets the count. */
  takeSuppressed(): number {
    const n = this.unreported;
    this.unreported = 0;
    return n;
  }
}
