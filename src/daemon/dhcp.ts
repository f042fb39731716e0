/**
 * @module daemon/dhcp
 * The DHCP service: the server over the daemon's store, started after a JIT warm-up over
 * loopback (dhcp/warmup.ts) when dhcp.warmUp is on, so the first real DISCOVERs do not meet
 * cold code.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema';
import { createDhcpServer, reservesOffers } from '../dhcp/server';
import { warmUpDhcp } from '../dhcp/warmup';
import type { Service } from '../lifecycle';
import type { Logger } from '../log';
import { openSqliteStore } from '../store/sqlite';
import type { Store } from '../store/store';

/** `poolSeed`: set when several daemons share the store (PostgreSQL): this daemon's name. */
export function dhcpService(config: Config, store: Store, log: Logger, metrics: Registry, poolSeed?: string): Service {
  const dhcpConfig = {
    // Resolved here so that the warm-up (a scratch SQLite store) runs the offer path the real
    // server will: offers reserved in the store with PostgreSQL (docs/scale-out.md "Offers").
    dhcp: {
      ...config.dhcp,
      reserveOffers: reservesOffers(config.dhcp.reserveOffers, config.store.kind === 'postgres'),
    },
    network: config.network,
    http: { publicUrl: config.http.publicUrl },
    profiles: config.profiles,
  };
  const dhcp = createDhcpServer({
    config: dhcpConfig,
    store,
    log,
    metrics,
    ...(poolSeed !== undefined ? { poolSeed } : {}),
  });
  const start = async (): Promise<void> => {
    if (config.dhcp.warmUp) {
      // Same store classes as the daemon's, none of its rows (dhcp/warmup.ts). An
      // optimisation only: if it fails (no loopback, say) DHCP starts cold.
      try {
        const w = await warmUpDhcp(dhcpConfig, () => openSqliteStore(':memory:'));
        log.info(
          { component: 'dhcp', exchanges: w.exchanges, ms: w.ms },
          'dhcp warmed up over loopback before opening its sockets',
        );
      } catch (err) {
        log.warn({ component: 'dhcp', err }, 'dhcp warm-up failed; starting cold (set dhcp.warmUp: false to skip it)');
      }
    }
    await dhcp.start();
  };
  return { name: 'dhcp', start, stop: () => dhcp.stop() };
}
