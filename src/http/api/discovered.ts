/**
 * @module http/api/discovered
 * GET /api/v1/discovered — machines seen but not registered: the newest `host.discovered`
 * event (model/event.ts) of each MAC that no host holds now, newest first. Read from the last
 * DISCOVERED_SCAN timeline events, so a MAC seen long ago and quiet since drops off; the DHCP
 * server and the iPXE route already bound how many such events are written
 * (model/discovered-macs.ts). The console's register form starts from this list.
 */
import { Router } from 'express';
import type { HostRegistry } from '../../hosts/registry';
import type { Store } from '../../store/store';

const DISCOVERED_SCAN = 5000;

export interface DiscoveredMachine {
  mac: string;
  seenAt: string;
  message: string;
  ip: string | null;
  arch: string | null;
  firmware: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

export function discoveredRouter(deps: { registry: HostRegistry; store: Store }): Router {
  const r = Router();
  r.get('/discovered', async (_req, res) => {
    const known = new Set((await deps.registry.list()).flatMap((h) => h.macs));
    const events = await deps.store.events.list({ limit: DISCOVERED_SCAN });
    const byMac = new Map<string, DiscoveredMachine>();
    for (const e of events) {
      if (e.kind !== 'host.discovered' || e.mac === null || known.has(e.mac)) continue;
      byMac.delete(e.mac); // keep the newest, in order
      byMac.set(e.mac, {
        mac: e.mac,
        seenAt: e.ts,
        message: e.message,
        ip: str(e.data.ip),
        arch: str(e.data.arch),
        firmware: str(e.data.firmware),
      });
    }
    res.json({ machines: [...byMac.values()].reverse() });
  });
  return r;
}
