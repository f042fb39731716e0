/**
 * @module dhcp/reply
 * Builds reply packets (RFC 2131 §4.3.1 table 3): the header copied from the request, the
 * server identifier, lease and subnet options, the boot decision, and option 82 echoed last
 * (RFC 3046 §2.2). Pure: no module state; what is fixed per server comes in as arguments.
 */
import type { BootDecision } from '../boot/policy';
import { BOOTREPLY, FLAG_BROADCAST, IP_UDP_OVERHEAD, MIN_MAX_MESSAGE, MessageType, Opt } from './constants';
import { getU16, u8 } from './options';
import type { DhcpPacket } from './packet';
import type { Scope } from './scope';
import { pxeVendorOptions } from './suboptions';

const TYPE_BYTES: Buffer[] = Array.from({ length: 9 }, (_, t) => u8(t));

/** Largest reply the client accepts: option 57 (≥ 576) or 576, minus IP/UDP, capped at one Ethernet MTU. */
export function maxReplyLength(req: DhcpPacket): number {
  const v = getU16(req.options, Opt.MAX_MESSAGE_SIZE);
  const limit = v !== undefined && v >= MIN_MAX_MESSAGE ? Math.min(v, 1500) : MIN_MAX_MESSAGE;
  return limit - IP_UDP_OVERHEAD;
}

/**
 * The reply's header and options 53/54. `serverIdBytes` is option 54, encoded once per server
 * (dhcp/context.ts HandlerConfig) and shared by every reply: the encoder only reads it.
 */
export function baseReply(req: DhcpPacket, type: number, serverIdBytes: Buffer): DhcpPacket {
  const options = new Map<number, Buffer>();
  options.set(Opt.MESSAGE_TYPE, TYPE_BYTES[type] ?? u8(type));
  options.set(Opt.SERVER_ID, serverIdBytes);
  return {
    op: BOOTREPLY,
    htype: req.htype,
    hlen: req.hlen,
    hops: 0,
    xid: req.xid,
    secs: 0,
    flags: req.flags,
    ciaddr: type === MessageType.ACK ? req.ciaddr : '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: req.giaddr,
    chaddr: req.chaddr, // the encoder copies it
    sname: '',
    file: '',
    options,
  };
}

/** Lease timers (RFC 2132 §9.2, §9.11: T1 = 0.5, T2 = 0.875 of the lease) and subnet options. */
export function addLeaseOptions(r: DhcpPacket, scope: Scope, withTimes: boolean): void {
  const o = scope.optionBytes;
  for (const [code, v] of withTimes ? o.timed : o.untimed) r.options.set(code, v);
}

/**
 * Applies a boot decision: `file`/`siaddr` (what PXE ROMs read) and, when the client listed
 * them in option 55, options 66/67 (what udhcpc/dhclient scripts read).
 */
export function addBoot(r: DhcpPacket, req: DhcpPacket, d: BootDecision): void {
  const prl = req.options.get(Opt.PARAM_REQUEST_LIST); // RFC 2132 §9.8: a list of codes, one octet each
  const asked = (code: number): boolean => prl !== undefined && prl.includes(code);
  let file: string | undefined;
  if (d.kind === 'loader') {
    r.siaddr = d.nextServer;
    file = d.file;
    if (asked(Opt.TFTP_SERVER_NAME)) r.options.set(Opt.TFTP_SERVER_NAME, Buffer.from(d.nextServer, 'latin1'));
  } else if (d.kind === 'script') {
    file = d.url;
  } else if (d.kind === 'http-boot') {
    file = d.url;
    // UEFI 2.5 §24.7.2: an HTTP-boot offer must echo option 60 "HTTPClient".
    r.options.set(Opt.VENDOR_CLASS, Buffer.from('HTTPClient', 'latin1'));
  }
  if (file === undefined) return;
  r.file = file;
  if (asked(Opt.BOOTFILE_NAME)) r.options.set(Opt.BOOTFILE_NAME, Buffer.from(file, 'latin1'));
}

/** proxyDHCP extras (PXE 2.1 §2.2.5): option 60 PXEClient, option 43, and the client's UUID. */
export function addProxyPxe(r: DhcpPacket, req: DhcpPacket): void {
  if (!r.options.has(Opt.VENDOR_CLASS)) {
    r.options.set(Opt.VENDOR_CLASS, Buffer.from('PXEClient', 'latin1'));
    r.options.set(Opt.VENDOR_SPECIFIC, pxeVendorOptions());
  }
  const uuid = req.options.get(Opt.CLIENT_UUID);
  if (uuid !== undefined) r.options.set(Opt.CLIENT_UUID, Buffer.from(uuid));
}

/** RFC 3046 §2.2: echo option 82 unchanged, last, and only in relayed replies (D13). */
export function echoRelayInfo(r: DhcpPacket, req: DhcpPacket): void {
  const v = req.options.get(Opt.RELAY_AGENT_INFO);
  if (v !== undefined && req.giaddr !== '0.0.0.0') {
    r.options.delete(Opt.RELAY_AGENT_INFO);
    r.options.set(Opt.RELAY_AGENT_INFO, Buffer.from(v));
  }
}

/** RFC 2131 §4.3.2: a DHCPNAK; through a relay the broadcast bit is set. */
export function nakReply(req: DhcpPacket, serverIdBytes: Buffer, message: string): DhcpPacket {
  const r = baseReply(req, MessageType.NAK, serverIdBytes);
  r.ciaddr = '0.0.0.0';
  if (req.giaddr !== '0.0.0.0') r.flags |= FLAG_BROADCAST;
  r.options.set(Opt.MESSAGE, Buffer.from(message, 'latin1'));
  echoRelayInfo(r, req);
  return r;
}
