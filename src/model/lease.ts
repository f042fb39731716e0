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

/**
 * RFC 2131 §4.2: a client is identified by option 61 when present, else by chaddr. An option
 * 61 that is hardware type 1 followed by the chaddr itself (RFC 2132 §9.14's convention, what
 * iPXE sends) names the same client as the bare chaddr: a PXE ROM sends no client identifier
 * and the iPXE it chains into sends `01:<MAC>`, and both must find one binding (the two-leases
 * bug of docs/dhcp.md "PXE ROM → iPXE: one client"; Kea's `match-client-id` does the same).
 * `clientId` is lower-case hex (options.getHex), `mac` lower-case colon pairs. The stores use
 * the same key (store/lease-rules.ts) so that a client holds one live binding.
 */
export function leaseClientKey(mac: string, clientId: string | null): string {
  if (clientId === null || isHardwareClientId(mac, clientId)) return `hw:${mac}`;
  return `id:${clientId}`;
}

/** True when `clientId` (hex) is `01` + the six octets of `mac` (aa:bb:cc:dd:ee:ff). */
function isHardwareClientId(mac: string, clientId: string): boolean {
  if (clientId.length !== 14 || mac.length !== 17 || clientId.charCodeAt(0) !== 0x30 || clientId.charCodeAt(1) !== 0x31)
    return false;
  for (let i = 0; i < 6; i += 1) {
    if (
      clientId.charCodeAt(2 + i * 2) !== mac.charCodeAt(i * 3) ||
      clientId.charCodeAt(3 + i * 2) !== mac.charCodeAt(i * 3 + 1)
    )
      return false;
  }
  return true;
}
