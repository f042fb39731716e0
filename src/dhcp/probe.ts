/**
 * @module dhcp/probe
 * Asks a segment which DHCP servers already answer on it (`kickstand init`): one DISCOVER, as a
 * PXE client would send it, and every OFFER heard within the window. A server that offers an
 * address leases on this segment (Kickstand then belongs beside it, in proxy mode); one that
 * offers no address but names itself `PXEClient` is another proxyDHCP/PXE service (two on one
 * segment race each other for the same clients).
 *
 * Node's dgram has no SO_BINDTODEVICE, so the DISCOVER goes to the subnet's directed broadcast
 * address, which only the interface holding that subnet sends out; replies come back as
 * limited broadcasts (RFC 2131 §4.1, broadcast flag set) to port 68, where the socket listens
 * with SO_REUSEADDR beside any DHCP client of the host itself.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { BOOTREPLY, BOOTREQUEST, CLIENT_PORT, FLAG_BROADCAST, MessageType, Opt, SERVER_PORT } from './constants';
import { decodePacket, encodePacket } from './packet';
import { getIp, getText, getU8, u8 } from './options';

export interface ProbeOptions {
  /** Where the DISCOVER goes: the subnet's broadcast address (e.g. 198.18.0.255). */
  broadcast: string;
  /** chaddr of the DISCOVER: the interface's own MAC (6 bytes). */
  mac: Buffer;
  /** How long to listen, ms. The DISCOVER is sent again after a third of it (RFC 2131 §4.1). */
  timeoutMs: number;
  /** Server and client ports (67 and 68); tests may move them. */
  serverPort?: number;
  clientPort?: number;
}

export interface ProbeAnswer {
  /** The server identifier (option 54), or the reply's source address when it has none. */
  server: string;
  /** Where the reply came from (differs from `server` behind a relay). */
  from: string;
  /** The address offered; null for a proxyDHCP answer (yiaddr 0.0.0.0). */
  offered: string | null;
  /** Option 60 of the reply (`PXEClient` for a PXE/proxyDHCP service). */
  vendorClass: string | null;
  /** Boot file named in the reply (`file` or option 67), null when none. */
  bootFile: string | null;
}

/**
 * The DISCOVER sent: broadcast flag set (the probe has no address to be unicast to), a PXE
 * vendor class and client architecture 0 (BIOS, RFC 4578 §2.1) so that PXE services answer too,
 * and a parameter request list asking for what a PXE client needs.
 */
export function probeDiscover(mac: Buffer, xid: number): Buffer {
  const options = new Map<number, Buffer>([
    [Opt.MESSAGE_TYPE, u8(MessageType.DISCOVER)],
    [Opt.PARAM_REQUEST_LIST, Buffer.from([Opt.SUBNET_MASK, Opt.ROUTER, Opt.DNS, Opt.VENDOR_SPECIFIC, 66, 67])],
    [Opt.VENDOR_CLASS, Buffer.from('PXEClient:Arch:00000:UNDI:002001', 'latin1')],
    [Opt.CLIENT_ARCH, Buffer.from([0, 0])],
  ]);
  const chaddr = Buffer.alloc(16);
  mac.copy(chaddr, 0, 0, 6);
  const r = encodePacket({
    op: BOOTREQUEST,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid,
    secs: 0,
    flags: FLAG_BROADCAST,
    ciaddr: '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options,
  });
  if (!r.ok) throw new Error(`probe DISCOVER does not encode: ${r.message}`);
  return r.bytes;
}

/** Sends the DISCOVER and collects one answer per server until `timeoutMs` has passed. */
export async function probeDhcpServers(o: ProbeOptions): Promise<ProbeAnswer[]> {
  const xid = randomBytes(4).readUInt32BE(0);
  const discover = probeDiscover(o.mac, xid);
  const answers = new Map<string, ProbeAnswer>();
  const sock = createSocket({ type: 'udp4', reuseAddr: true });
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(o.clientPort ?? CLIENT_PORT, '0.0.0.0', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.setBroadcast(true);
    sock.on('message', (msg, rinfo) => {
      const d = decodePacket(msg);
      if (!d.ok || d.packet.op !== BOOTREPLY || d.packet.xid !== xid) return;
      if (!d.packet.chaddr.subarray(0, 6).equals(o.mac.subarray(0, 6))) return;
      if (getU8(d.packet.options, Opt.MESSAGE_TYPE) !== MessageType.OFFER) return;
      const server = getIp(d.packet.options, Opt.SERVER_ID) ?? rinfo.address;
      const yiaddr = d.packet.yiaddr;
      const answer: ProbeAnswer = {
        server,
        from: rinfo.address,
        offered: yiaddr === '0.0.0.0' ? null : yiaddr,
        vendorClass: getText(d.packet.options, Opt.VENDOR_CLASS) ?? null,
        bootFile: (d.packet.file || getText(d.packet.options, Opt.BOOTFILE_NAME)) ?? null,
      };
      // One entry per server; an address offer wins over a boot-only answer from the same one.
      const seen = answers.get(server);
      if (seen === undefined || (seen.offered === null && answer.offered !== null)) answers.set(server, answer);
    });
    const send = (): void => sock.send(discover, o.serverPort ?? SERVER_PORT, o.broadcast);
    send();
    const again = setTimeout(send, Math.floor(o.timeoutMs / 3));
    await new Promise((r) => setTimeout(r, o.timeoutMs));
    clearTimeout(again);
  } finally {
    sock.close();
  }
  return [...answers.values()].sort((a, b) => a.server.localeCompare(b.server));
}
