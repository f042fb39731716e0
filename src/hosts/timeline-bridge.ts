/**
 * @module hosts/timeline-bridge
 * Puts what the file services see on the right host's timeline: a machine is known by the
 * address it talks from (hosts/locate.ts). A machine not in the registry but holding a lease
 * is recorded with `host: null` and its MAC (model/event.ts); other addresses are not recorded.
 *
 * Volume: an installer may fetch thousands of files, and split each into ranges. One event is
 * written per whole-file fetch or first range (`bytes=0-…`) of a file; later ranges of the
 * same file (resumes, split downloads) are counted in metrics, not written.
 */
import type { Logger } from '../log';
import type { Timeline } from '../timeline';
import type { Store } from '../store/store';
import { locateByIp, peerAddress } from './locate';

/** The timeline identity of the machine at `address`: a host, or an unregistered leased MAC. */
async function whoIs(store: Store, address: string): Promise<{ host: string | null; mac: string | null } | undefined> {
  const ip = peerAddress(address);
  const found = await locateByIp(store, ip);
  if (found) return { host: found.host.name, mac: found.mac };
  const lease = ip ? await store.leases.get(ip) : undefined;
  if (lease && lease.state === 'bound' && lease.expiresAt > Date.now() && lease.mac)
    return { host: null, mac: lease.mac };
  return undefined;
}

export interface AssetServed {
  path: string;
  remoteAddress: string;
  status: number;
  bytes: number;
  range: string | null;
}

export function recordAssetServed(store: Store, log: Logger): (e: AssetServed) => void {
  return (e) => {
    if (e.status !== 200 && e.status !== 206) return;
    if (e.range !== null && !/^bytes=0-/.test(e.range)) return;
    void (async () => {
      const who = await whoIs(store, e.remoteAddress);
      if (!who) return;
      await store.events.append({
        ...who,
        kind: 'http.asset',
        message: `fetched ${e.path} over HTTP (${e.bytes} bytes${e.range ? `, ${e.range}` : ''})`,
        data: { path: e.path, bytes: e.bytes, status: e.status, range: e.range },
      });
    })().catch((err: unknown) => log.warn({ err }, 'could not record asset fetch'));
  };
}

export interface FileServiceEvent {
  kind: string;
  address: string;
  path: string;
  message: string;
  data: Record<string, unknown>;
}

/** TFTP transfers (start/done/failed/refused) by a known host's address. */
export function recordFileEvent(store: Store, log: Logger): (e: FileServiceEvent) => void {
  return (e) => {
    void (async () => {
      const who = await whoIs(store, e.address);
      if (!who) return;
      await store.events.append({
        ...who,
        kind: e.kind,
        level: e.kind.endsWith('failed') || e.kind.endsWith('refused') ? 'warn' : 'info',
        message: e.message,
        data: { path: e.path, ...e.data },
      });
    })().catch((err: unknown) => log.warn({ err }, 'could not record file transfer'));
  };
}

/** Live download progress of a known (or leased) machine, for watchers; not stored. */
export function publishAssetProgress(
  store: Store,
  timeline: Timeline,
  log: Logger,
): (e: { path: string; remoteAddress: string; bytes: number; total: number }) => void {
  return (e) => {
    void (async () => {
      const who = await whoIs(store, e.remoteAddress);
      if (!who) return;
      timeline.publishProgress({
        kind: 'http.progress',
        ts: new Date().toISOString(),
        ...who,
        path: e.path,
        bytes: e.bytes,
        total: e.total,
      });
    })().catch((err: unknown) => log.debug({ err }, 'could not publish progress'));
  };
}
