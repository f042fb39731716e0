/**
 * @module model/lease
 * A DHCPv4 address binding (RFC 2131 §3.1/§4.3). Leases are committed to the store before
 * the DHCPACK that announces them leaves the socket.
 */

export type LeaseState =
  | 'offered' // DHCPOFFER sent, held briefly for the client's REQUEST
  | 'bound' // DHCPACK sent (after commit)
  | 'released' // DHCPRELEASE received; binding kept for reuse by the same client
  | 'declined'; // DHCPDECLINE received: address quarantined until expiresAt (RFC 2131 §4.3.3)

export interface Lease {
  ip: string;
  /** Canonical MAC of the client (chaddr). Empty string for a declined address with no owner. */
  mac: string;
  /** Option 61 as hex, when the client sent one (RFC 2132 §9.14). */
  clientId: string | null;
  hostname: string | null;
  state: LeaseState;
  /** Epoch milliseconds. */
  expiresAt: number;
  updatedAt: number;
}
