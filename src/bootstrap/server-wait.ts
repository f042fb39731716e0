/**
 * @module bootstrap/server-wait
 * Agents waiting for a k3s server. A rack PXE-boots at once and an agent may reach k3s.join
 * before any server has initialised the cluster; past `k3s.serverWaitMs` it fails with
 * KS_K3S_NO_SERVER (steps.ts waitForServer) and waits here until a server becomes ready, then
 * it is bootstrapped again. The list is kept in the store (store.serverWaits), not in memory,
 * so a restarted daemon, or another daemon on the same PostgreSQL store, finds it as it was.
 */
import { ErrorCode } from '../errors';
import type { Store } from '../store/store';

export class ServerWait {
  constructor(private readonly store: Pick<Store, 'serverWaits'>) {}

  /**
   * Records how `host`'s run ended (`code`: the error code, undefined when it succeeded): it
   * waits after KS_K3S_NO_SERVER; any other outcome ends its wait.
   */
  settle(host: string, code: string | undefined): Promise<void> {
    return code === ErrorCode.K3S_NO_SERVER ? this.store.serverWaits.add(host) : this.store.serverWaits.delete(host);
  }

  /** A server is ready: the hosts that waited, removed from the list (each handed out once). */
  release(): Promise<string[]> {
    return this.store.serverWaits.take();
  }
}
