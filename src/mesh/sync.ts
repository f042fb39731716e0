/**
 * @module mesh/sync
 * Keeps every mesh member's WireGuard config equal to the mesh table: after a host joins or is
 * removed, each other member gets its re-rendered config, applied live (`wg syncconf`) and
 * persisted (wg0.conf). Runs are coalesced (mesh/coalesce.ts) and pushes run in parallel with a
 * bound; a member that cannot be reached is recorded on its own timeline and skipped, so one
 * dead node never blocks the others (it converges on its next bootstrap). How a member is
 * reached is not this module's business: the bootstrapper, which drives the mesh, hands in the
 * push (bootstrap/mesh-push.ts: a pinned SSH session), so mesh/ never imports bootstrap/.
 */
import type { Logger } from '../log';
import type { Host } from '../model/host';
import type { MeshMember } from '../model/mesh-member';
import type { Store } from '../store/store';
import { Coalescer } from './coalesce';

/** Applies `self`'s config, rendered from `members`, on `host`; resolves true when the node changed. */
export type MemberPush = (host: Host, self: MeshMember, members: readonly MeshMember[]) => Promise<boolean>;

export interface MeshSyncDeps {
  store: Pick<Store, 'mesh' | 'hosts' | 'events'>;
  push: MemberPush;
  parallelism: () => number;
  log: Logger;
}

/** States whose hosts receive peer updates (a failed or reinstalling host converges on its next bootstrap). */
const LIVE = new Set(['bootstrapping', 'ready']);

export class MeshSync {
  private readonly coalescer = new Coalescer(() => this.pushAll());
  private readonly log: Logger;

  constructor(private readonly deps: MeshSyncDeps) {
    this.log = deps.log.child({ component: 'mesh' });
  }

  /** Brings every live member up to date with the mesh table (coalesced). */
  sync(): Promise<void> {
    return this.coalescer.request();
  }

  /**
   * A deleted host: free its address, then drop it from every peer. The peer updates run in the
   * background (a dead member must not hold up `host rm`); `sync()` awaits them.
   */
  async remove(host: string): Promise<void> {
    const m = await this.deps.store.mesh.get(host);
    if (!m) return;
    await this.deps.store.mesh.delete(host);
    await this.deps.store.events.append({
      host,
      kind: 'mesh.left',
      message: `left the mesh; ${m.address} freed`,
      data: { address: m.address },
    });
    this.sync().catch((e: unknown) =>
      this.log.warn({ host, error: (e as Error).message }, 'mesh sync after removal failed'),
    );
  }

  /** Drops rows of hosts that no longer exist (e.g. the daemon stopped between delete and sync). */
  async reconcile(): Promise<void> {
    const hosts = new Set((await this.deps.store.hosts.list()).map((h) => h.name));
    for (const m of await this.deps.store.mesh.list()) if (!hosts.has(m.host)) await this.remove(m.host);
  }

  private async pushAll(): Promise<void> {
    const members = await this.deps.store.mesh.list();
    const hosts = new Map((await this.deps.store.hosts.list()).map((h) => [h.name, h]));
    const targets = members.filter((m) => m.publicKey !== null && LIVE.has(hosts.get(m.host)?.state ?? ''));
    const queue = [...targets];
    const worker = async () => {
      for (let m = queue.shift(); m; m = queue.shift()) await this.pushOne(hosts.get(m.host)!, m, members);
    };
    await Promise.all(Array.from({ length: Math.min(this.deps.parallelism(), queue.length) }, worker));
  }

  private async pushOne(host: Host, self: MeshMember, members: MeshMember[]): Promise<void> {
    try {
      if (await this.deps.push(host, self, members)) {
        await this.deps.store.events.append({
          host: host.name,
          kind: 'mesh.updated',
          message: `peer list updated (${members.filter((m) => m.host !== host.name && m.publicKey).length} peers)`,
          data: {},
        });
      }
    } catch (e) {
      const msg = (e as Error).message;
      this.log.warn({ host: host.name, error: msg }, 'mesh peer update failed');
      await this.deps.store.events.append({
        host: host.name,
        kind: 'mesh.sync_failed',
        level: 'warn',
        message: `could not update the peer list: ${msg}`,
        data: {},
      });
    }
  }
}
