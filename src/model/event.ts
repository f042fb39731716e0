/**
 * @module model/event
 * The per-host timeline. Every service appends what it saw: DHCP offer/ack, TFTP loader,
 * iPXE script, kernel/initrd, kickstart, callbacks, state changes, bootstrap steps.
 * Events about machines not in the registry carry `host: null` and the MAC.
 */

/** Dotted kind names, grouped by the service that emits them. Add new kinds here. */
export type EventKind =
  | 'host.created'
  | 'host.updated'
  | 'host.deleted'
  | 'host.state'
  | 'host.discovered'
  | 'dhcp.offer'
  | 'dhcp.ack'
  | 'dhcp.nak'
  | 'dhcp.decline'
  | 'dhcp.release'
  | 'dhcp.inform'
  | 'dhcp.proxy'
  | 'tftp.start'
  | 'tftp.done'
  | 'tftp.failed'
  | 'tftp.refused'
  | 'tftp.grub'
  | 'http.ipxe'
  | 'http.asset'
  | 'http.refused'
  | 'kickstart.fetched'
  | 'kickstart.refused'
  | 'install.installing'
  | 'install.installed'
  | 'install.callback_refused'
  | 'install.timeout'
  | 'bootstrap.step'
  | 'bootstrap.output'
  | 'bootstrap.done'
  | 'bootstrap.failed'
  | 'mesh.joined'
  | 'mesh.left'
  | 'bmc.command'
  | 'api.write'
  | (string & {});

export type EventLevel = 'info' | 'warn' | 'error';

export interface HostEvent {
  /** Monotonic id; `listEvents({after})` pages and follows with it. */
  id: number;
  /** ISO 8601 UTC. */
  ts: string;
  host: string | null;
  mac: string | null;
  kind: EventKind;
  level: EventLevel;
  /** One human line; never a secret. */
  message: string;
  /** Structured details; never a secret. */
  data: Record<string, unknown>;
  /**
   * The daemon that recorded it, when several share one PostgreSQL (`store.daemonName`,
   * docs/scale-out.md); absent with a store only one daemon uses.
   */
  daemon?: string;
}

export type NewEvent = Omit<HostEvent, 'id' | 'ts' | 'level' | 'data' | 'mac' | 'host' | 'daemon'> & {
  host?: string | null;
  mac?: string | null;
  level?: EventLevel;
  data?: Record<string, unknown>;
};
