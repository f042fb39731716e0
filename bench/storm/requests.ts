/**
 * @module bench/storm/requests
 * The DHCP requests of one simulated BIOS machine, as its relay forwards them (pure: facts in,
 * datagram out, through the project's codec src/dhcp/packet.ts). Two personalities, as
 * bench/storm-client.ts's header lists: the PXE ROM (no user class, no client identifier) and
 * iPXE once loaded (user class "iPXE", option 175, client identifier 01:MAC), which Kickstand's
 * dhcp/pxe.ts tells apart.
 */
import { Opt } from '../../src/dhcp/constants';
import { ipToBytes } from '../../src/dhcp/options';
import { encodePacket, type DhcpPacket } from '../../src/dhcp/packet';

/** PXE 2.1 vendor class: arch 0 (x86 BIOS), UNDI 2.1. */
const PXE_VENDOR_CLASS = Buffer.from('PXEClient:Arch:00000:UNDI:002001');
/** The ROM asks for: netmask, time offset, router, name servers, host and domain name, boot size,
 * root path, vendor options (43), server id, vendor class, TFTP server and boot file, PXE 128-135. */
const ROM_PRL = Buffer.from([
  1, 2, 3, 5, 6, 12, 13, 15, 17, 43, 54, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135,
]);
/** iPXE asks for about the same, plus MTU (26), domain search (119) and its own 175 and 203. */
const IPXE_PRL = Buffer.from([
  1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203,
]);
/** Option 175 (iPXE's encapsulated options): feature flags PXE 0x21, HTTP 0x13, TFTP 0x15,
 * bzImage 0x18 (one byte each, value 1), version 0xeb = 1.21.1. */
const IPXE_FEATURES = Buffer.from([0x21, 1, 1, 0x13, 1, 1, 0x15, 1, 1, 0x18, 1, 1, 0xeb, 3, 1, 21, 1]);

export interface SimulatedNic {
  /** 6 bytes. */
  mac: Buffer;
  /** 16 bytes (option 97 adds the type octet). */
  uuid: Buffer;
}

export interface RequestInput {
  nic: SimulatedNic;
  /** DISCOVER or REQUEST. */
  type: number;
  xid: number;
  /** Seconds since the exchange began (RFC 2131 §2, `secs`). */
  secs: number;
  /** The relay agent's address (RFC 2131 §4.1: the server answers it on port 67). */
  giaddr: string;
  ipxe: boolean;
  /** REQUEST only: the OFFER's address (option 50) and server identifier (option 54). */
  requested?: { ip: string; serverId: Buffer };
}

function personality(nic: SimulatedNic, ipxe: boolean): Array<[number, Buffer]> {
  const common: Array<[number, Buffer]> = [
    [Opt.MAX_MESSAGE_SIZE, Buffer.from(ipxe ? [0x05, 0xc0] : [0x04, 0xec])], // 1472 / 1260 bytes
    [Opt.CLIENT_ARCH, Buffer.from([0, 0])], // RFC 4578 §2.1: 0 = x86 BIOS
    [Opt.CLIENT_NDI, Buffer.from([1, 2, 1])], // RFC 4578 §2.2: UNDI 2.1
    [Opt.CLIENT_UUID, Buffer.concat([Buffer.from([0]), nic.uuid])], // RFC 4578 §2.3: type 0 + 16 bytes
    [Opt.VENDOR_CLASS, PXE_VENDOR_CLASS],
  ];
  if (!ipxe) return [...common, [Opt.PARAM_REQUEST_LIST, ROM_PRL]];
  return [
    ...common,
    [Opt.CLIENT_ID, Buffer.concat([Buffer.from([1]), nic.mac])], // RFC 2132 §9.14: type 1 (Ethernet) + MAC
    [Opt.USER_CLASS, Buffer.from('iPXE')],
    [Opt.IPXE_ENCAP, IPXE_FEATURES],
    [Opt.PARAM_REQUEST_LIST, IPXE_PRL],
  ];
}

/** The datagram the relay sends to the server's port 67. Throws only on an encoder failure. */
export function dhcpRequest(i: RequestInput): Buffer {
  const chaddr = Buffer.alloc(16);
  i.nic.mac.copy(chaddr);
  const options = new Map<number, Buffer>([[Opt.MESSAGE_TYPE, Buffer.from([i.type])]]);
  if (i.requested) {
    options.set(Opt.REQUESTED_IP, ipToBytes(i.requested.ip));
    options.set(Opt.SERVER_ID, i.requested.serverId);
  }
  for (const [code, value] of personality(i.nic, i.ipxe)) options.set(code, value);
  const p: DhcpPacket = {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 1, // RFC 1542 §4.1.1: the relay agent counts itself
    xid: i.xid,
    secs: i.secs,
    flags: 0x8000, // ROMs and iPXE ask for broadcast replies; a relayed reply goes to giaddr anyway
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: i.giaddr,
    chaddr,
    sname: '',
    file: '',
    options,
  };
  const r = encodePacket(p);
  if (!r.ok) throw new Error(`cannot encode a DHCP request: ${r.message}`);
  return r.bytes;
}
