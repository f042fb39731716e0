/**
 * Minimal pcap reader for test fixtures and ACK capture (libpcap format, Ethernet or Linux
 * cooked link types, IPv4/UDP only). Test-only.
 */
import { readFileSync } from 'node:fs';
import { MessageType, Opt } from '../../../src/dhcp/constants';
import { getU8 } from '../../../src/dhcp/options';
import { decodePacket, hardwareAddress } from '../../../src/dhcp/packet';

export interface UdpDatagram {
  ts: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

const ip = (b: Buffer, o: number) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;

export function readPcap(path: string): UdpDatagram[] {
  return parsePcap(readFileSync(path));
}

export function parsePcap(buf: Buffer): UdpDatagram[] {
  if (buf.length < 24) return [];
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  const out: UdpDatagram[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    const frame = buf.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    let l3: number;
    if (linktype === 1) {
      if (frame.length < 14 || frame.readUInt16BE(12) !== 0x0800) continue;
      l3 = 14;
    } else if (linktype === 113) {
      if (frame.length < 16 || frame.readUInt16BE(14) !== 0x0800) continue;
      l3 = 16;
    } else continue;
    if (frame.length < l3 + 20 || frame[l3 + 9] !== 17) continue;
    const ihl = (frame[l3]! & 15) * 4;
    const u = l3 + ihl;
    if (frame.length < u + 8) continue;
    const len = frame.readUInt16BE(u + 4) - 8;
    out.push({
      ts: sec + frac / (nano ? 1e9 : 1e6),
      src: ip(frame, l3 + 12),
      dst: ip(frame, l3 + 16),
      srcPort: frame.readUInt16BE(u),
      dstPort: frame.readUInt16BE(u + 2),
      payload: Buffer.from(frame.subarray(u + 8, u + 8 + len)),
    });
  }
  return out;
}

/** A DHCPACK seen on the wire: the address, the client's MAC and the capture time (s). */
export interface CapturedAck {
  ip: string;
  mac: string;
  ts: number;
}

/** The DHCPACKs in a capture (message type 5, RFC 2132 §9.6), in capture order. */
export function capturedAcks(path: string): CapturedAck[] {
  return capturedReplies(path, MessageType.ACK);
}

/** The DHCP messages of `type` (option 53, RFC 2132 §9.6) in a capture, in capture order. */
export function capturedReplies(path: string, type: number): CapturedAck[] {
  return readPcap(path).flatMap((d) => {
    const r = decodePacket(d.payload);
    return r.ok && getU8(r.packet.options, Opt.MESSAGE_TYPE) === type
      ? [{ ip: r.packet.yiaddr, mac: hardwareAddress(r.packet), ts: d.ts }]
      : [];
  });
}
