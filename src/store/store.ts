/**
 * @module store/store
 * The storage contract. SQLite (WAL) is the embedded default (store/sqlite/); PostgreSQL
 * joins when Kickstand scales out. Every implementation must pass test/store/contract.ts.
 *
 * The interface is asynchronous even though better-sqlite3 is not, so that a networked
 * implementation fits behind it unchanged. A resolved promise from a write means the write
 * is durable (committed); callers such as the DHCP server rely on that before they answer
 * on the wire ("never ACK a lease before it is committed").
 *
 * Errors: not-found is KS_HOST_NOT_FOUND; uniqueness violations are KS_HOST_EXISTS,
 * KS_MAC_IN_USE or KS_IP_IN_USE with `field` set; anything else is KS_STORE_FAILED.
 */
import type { Host, HostPatch, NewHost } from '../model/host';
import type { HostEvent, NewEvent } from '../model/event';
import type { Lease } from '../model/lease';
import type { InstallToken } from '../model/token';
import type { BmcConfig } from '../model/bmc-settings';
import type { MeshMember, MeshPeerInfo } from '../model/mesh-member';
import type { Rollout } from '../model/rollout';
import type { HostLookup } from './host-index';

export type { HostLookup } from './host-index';

export interface HostRepo {
  /** Inserts a validated host (state `registered` or `armed` as decided by the caller). */
  create(host: NewHost & { state: Host['state'] }): Promise<Host>;
  /**
   * Inserts every host in ONE transaction (bulk import): all are written or, when any is
   * refused (same errors as `create`, duplicates within the batch included), none is.
   */
  createMany(hosts: ReadonlyArray<NewHost & { state: Host['state'] }>): Promise<Host[]>;
  get(name: string): Promise<Host | undefined>;
  /** The host owning canonical `mac`, if any. */
  getByMac(mac: string): Promise<Host | undefined>;
  /** The host with static reservation `ipv4`, if any. */
  getByIp(ipv4: string): Promise<Host | undefined>;
  list(): Promise<Host[]>;
  /**
   * Applies `patch`. When `expectedVersion` is given and differs from the stored version the
   * update is refused with KS_CONFLICT (optimistic concurrency).
   */
  update(name: string, patch: HostPatch, expectedVersion?: number): Promise<Host>;
  /** Deletes the host and its tokens; its events stay (history). */
  delete(name: string): Promise<void>;
}

export interface EventQuery {
  host?: string;
  /** Only events with id > after (follow / page forward). */
  after?: number;
  /** Newest `limit` events (default 1000), returned oldest first. */
  limit?: number;
}

export interface EventRepo {
  append(e: NewEvent): Promise<HostEvent>;
  list(q?: EventQuery): Promise<HostEvent[]>;
  /**
   * Calls `fn` with each event other daemons sharing this store append, as they commit
   * (PostgreSQL: LISTEN/NOTIFY; absent for a store only one daemon uses). Returns the
   * unsubscribe function.
   */
  followOthers?(fn: (e: HostEvent) => void): () => void;
}

export interface LeaseRepo {
  get(ip: string): Promise<Lease | undefined>;
  /**
   * Most recently updated lease held by `mac`: a binding (any state but `offered`) before an
   * offer, so that an offer the client did not take (another daemon's, docs/scale-out.md
   * "Offers") never hides its address.
   */
  findByMac(mac: string): Promise<Lease | undefined>;
  /** As {@link findByMac}, by option 61. */
  findByClientId(clientId: string): Promise<Lease | undefined>;
  /**
   * Inserts or replaces the lease for `lease.ip`. Implementations may group concurrent puts
   * into one transaction (group commit); the promise resolves only after that commit.
   */
  put(lease: Lease): Promise<void>;
  delete(ip: string): Promise<void>;
  list(): Promise<Lease[]>;
}

export interface TokenRepo {
  /** Stores a new token for `t.host` and revokes the host's earlier live tokens, atomically. */
  issue(t: Omit<InstallToken, 'fetchedAt' | 'revokedAt'>): Promise<InstallToken>;
  get(token: string): Promise<InstallToken | undefined>;
  /** The host's live (not revoked) token, if any. */
  liveFor(host: string): Promise<InstallToken | undefined>;
  /** Sets fetchedAt if it is still null; returns the token as it now stands. */
  markFetched(token: string, at: number): Promise<InstallToken | undefined>;
  /**
   * Sets fetchedAt to `at` if it is still null, in one conditional write: true for exactly one
   * caller, also across daemons sharing the database (the kickstart's first fetch).
   */
  claimFetch(token: string, at: number): Promise<boolean>;
  /**
   * {@link claimFetch} and the timeline event that reports it, in ONE transaction: one durable
   * write (one WAL fsync in SQLite, one COMMIT in PostgreSQL) for the kickstart's fetch.
   * `event` is called inside the transaction with the claim's outcome (first fetch or not,
   * and the first fetch's time), so the event can say which it was; the event is appended as
   * `events.append` would (PostgreSQL: with its notification to other daemons). Resolves
   * once both are durable; a failure writes neither.
   */
  claimFetchWithEvent(token: string, at: number, event: (claim: FetchClaim) => NewEvent): Promise<ClaimedFetch>;
  /** Revokes every live token of `host`. */
  revokeFor(host: string, at: number): Promise<void>;
}

/** The outcome of a fetch claim. */
export interface FetchClaim {
  /** This call set fetchedAt (the first fetch of the token). */
  first: boolean;
  /** The token's fetchedAt as it now stands (null: no such token). */
  fetchedAt: number | null;
}

export interface ClaimedFetch {
  claim: FetchClaim;
  event: HostEvent;
}

/** Small durable key/value space for daemon-wide settings and secrets (e.g. cluster token). */
export interface SettingRepo {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** WireGuard mesh membership (bootstrapper): one address per host, stable until the host is deleted. */
export interface MeshRepo {
  get(host: string): Promise<MeshMember | undefined>;
  list(): Promise<MeshMember[]>;
  /** The host's member row, allocating the lowest free address of `cidr` if it has none (atomic). */
  allocate(host: string, cidr: string): Promise<MeshMember>;
  /** Records the node's public key and endpoint. */
  setPeer(host: string, info: MeshPeerInfo): Promise<MeshMember>;
  /** Frees the host's address. */
  delete(host: string): Promise<void>;
}

/** Per-host BMC settings (IPMI/Redfish). The config includes the password: never return it raw. */
export interface BmcRepo {
  get(host: string): Promise<BmcConfig | undefined>;
  /** Sets or replaces; KS_HOST_NOT_FOUND when the host does not exist. */
  set(host: string, config: BmcConfig): Promise<void>;
  delete(host: string): Promise<void>;
}

/**
 * Hosts waiting for a k3s server (bootstrapper): an agent whose bootstrap failed with
 * KS_K3S_NO_SERVER is bootstrapped again when a server becomes ready, also after a restart.
 * Rows go with their host.
 */
export interface ServerWaitRepo {
  /** Records that `host` waits (idempotent: the first time is kept); KS_HOST_NOT_FOUND for an unknown host. */
  add(host: string): Promise<void>;
  /** Waiting hosts, longest waiting first. */
  list(): Promise<string[]>;
  /** Ends the wait of `host` (no-op when it does not wait). */
  delete(host: string): Promise<void>;
  /**
   * Ends every wait and returns the hosts, longest waiting first, atomically: when several
   * daemons share the database, each waiting host is handed to exactly one of them.
   */
  take(): Promise<string[]>;
}

/**
 * Work that must run on exactly one of the daemons sharing the store (a host's bootstrap):
 * claims that expire, so that a daemon that died mid-work does not hold its claim forever.
 */
export interface ClaimRepo {
  /**
   * Takes `key` for `holder` until `expiresAt` (epoch ms) when nobody holds it, its claim has
   * expired, or `holder` holds it already (a renewal). True when taken. One conditional write:
   * of daemons racing for one key, exactly one wins.
   */
  take(key: string, holder: string, expiresAt: number): Promise<boolean>;
  /** Gives `key` up if `holder` holds it. */
  release(key: string, holder: string): Promise<void>;
}

/**
 * Rolling rebuilds (hosts/rollout.ts): every daemon on the store lists them; one daemon drives
 * each running one, holding the work claim `rollout:<id>` (docs/scale-out.md). A progress write
 * lands only while the row still names the writer as its driver, so a daemon that lost the
 * rollout to another stops at its next write.
 */
export interface RolloutRepo {
  /** Inserts a new rollout (KS_CONFLICT when the id exists). */
  create(r: Rollout): Promise<void>;
  get(id: string): Promise<Rollout | undefined>;
  /** Newest first (by startedAt); `running: true`: only the running ones. */
  list(q?: { running?: boolean }): Promise<Rollout[]>;
  /**
   * Writes `r`'s progress (state, batch, done, reimaged, failedHost, reason, step,
   * batchStartedAt, finishedAt, updatedAt; the plan never changes) when the stored row
   * names `r.daemon` as its driver; false, and nothing written, otherwise (or no such row).
   */
  save(r: Rollout): Promise<boolean>;
  /**
   * Makes `daemon` the driver of the running rollout `id` (the caller holds its claim) and
   * returns the row as it now stands; undefined when there is no such running rollout.
   */
  adopt(id: string, daemon: string, at: string): Promise<Rollout | undefined>;
  /** Deletes finished rollouts beyond the newest `keep` (by finishedAt); returns how many went. */
  prune(keep: number): Promise<number>;
}

export interface Store {
  readonly kind: string;
  readonly hosts: HostRepo;
  readonly events: EventRepo;
  readonly leases: LeaseRepo;
  readonly tokens: TokenRepo;
  readonly settings: SettingRepo;
  readonly mesh: MeshRepo;
  readonly bmc: BmcRepo;
  readonly serverWaits: ServerWaitRepo;
  readonly claims: ClaimRepo;
  readonly rollouts: RolloutRepo;
  /**
   * Synchronous in-memory host lookups (by MAC, by reserved address) for the DHCP hot path:
   * loaded at open, current with every host write acknowledged by THIS store; the PostgreSQL
   * store also follows host writes made by other daemons on the same database (LISTEN/NOTIFY,
   * store/postgres/host-feed.ts), a moment after their commit.
   */
  readonly hostLookup: HostLookup;
  /** Checks the store answers (healthz). */
  ping(): Promise<void>;
  /** Flushes pending writes and closes. Idempotent. */
  close(): Promise<void>;
}
