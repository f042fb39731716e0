/**
 * @module dhcp/reply-route
 * Where a reply goes (RFC 2131 §4.1, reliability D11). Pure.
 *
 * Node can neither inject ARP entries nor pick an egress interface, and a wildcard-bound socket
 * cannot send to 255.255.255.255 on a segment without a default route (ENETUNREACH). So the
 * route says "broadcast" as the directly attached subnet's broadcast address (RFC 2131 §4.1
 * allows broadcasting when unicast to yiaddr is impossible); the server (server.ts) turns that
 * into a limited broadcast from a socket bound to network.address when it has one, because some
 * UEFI firmware PXE stacks (OVMF) ignore replies to the subnet broadcast address.
 */
import { MessageType, Opt } from './constants';
import { getU8 } from './options';
import type { DhcpPacket } from './packet';

export interface Destination {
  address: string;
  port: number;
}

export interface RouteContext {
  /** Broadcast address of the directly attached segment. */
  broadcast: string;
  /** Port relays listen on (67). */
  serverPort: number;
  /** Port clients listen on (68). */
  clientPort: number;
  /** Where the request came from. */
  from: Destination;
  /** True when the request arrived on the PXE boot-server port (4011). */
  viaPxePort: boolean;
}

export function replyDestination(req: DhcpPacket, reply: DhcpPacket, ctx: RouteContext): Destination {
  // PXE 2.1 §2.2.4: boot-server (4011) replies go back to the requester's address and port.
  if (ctx.viaPxePort) return { address: ctx.from.address, port: ctx.from.port };
  // "If the giaddr field … is non-zero, the server sends any return messages to the
  // 'DHCP server' port on the BOOTP relay agent whose address appears in giaddr."
  if (req.giaddr !== '0.0.0.0') return { address: req.giaddr, port: ctx.serverPort };
  // "In all cases, when giaddr is zero, the server broadcasts any DHCPNAK messages."
  if (getU8(reply.options, Opt.MESSAGE_TYPE) === MessageType.NAK)
    return { address: ctx.broadcast, port: ctx.clientPort };
  // "If … ciaddr field is nonzero, then the server unicasts DHCPOFFER and DHCPACK messages to ciaddr."
  if (req.ciaddr !== '0.0.0.0') return { address: req.ciaddr, port: ctx.clientPort };
  // Broadcast bit set, or bit clear but unicast to yiaddr impossible (no ARP injection): broadcast.
  return { address: ctx.broadcast, port: ctx.clientPort };
}
