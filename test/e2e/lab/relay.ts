/**
 * @module test/e2e/lab/relay
 * A second lab segment behind a real DHCP relay (ISC dhcrelay, Debian isc-dhcp-relay), for the
 * pxe lab's `rbios`: its own bridge and subnet, a router namespace that runs `dhcrelay -a`
 * (RFC 3046: adds option 82 with the circuit id of the interface facing the clients) and routes
 * between the segment and Kickstand, and a capture on Kickstand's side of the relay link.
 *
 *   netns <tag>-vm : bridge "br1" with the relayed machines' taps and "vr0"
 *   netns <tag>-rl : "rl0" 198.18.<third>.1 (giaddr; veth peer vr0), "rl1" 198.18.<transit>.2,
 *                    ip_forward on, dhcrelay -a -id rl0 -iu rl1 <Kickstand>
 *   netns <tag>-ks : "ks1" 198.18.<transit>.1 (veth peer rl1), route to the segment via rl1;
 *                    tcpdump on ks1 (every relayed DHCP message to and from Kickstand)
 *
 * The relayed machines reach Kickstand's HTTP (and TFTP) through the relay namespace's routing:
 * their default route is the relayed scope's gateway (rl0), which forwards to ks1.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Opt } from '../../../src/dhcp/constants';
import { decodePacket, hexPairs } from '../../../src/dhcp/packet';
import { parsePcap } from '../../dhcp/helpers/pcap';
import { started } from './started';
import { deleteNamespace, type LabNet } from './topology';

/** One DHCP message on the relay link, as the relay checks read it. */
export interface RelayFrame {
  /** 1 BOOTREQUEST (relay → Kickstand), 2 BOOTREPLY (Kickstand → relay). */
  op: number;
  xid: number;
  mac: string;
  giaddr: string;
  yiaddr: string;
  /** Option 82 as hex, when present. */
  o82?: string;
}

export interface RelaySegment {
  ns: string;
  /** The relayed subnet and its pool (Kickstand's `dhcp.relayed` scope). */
  subnet: string;
  poolStart: string;
  poolEnd: string;
  /** dhcrelay's address on the segment: giaddr and the scope's gateway (option 3). */
  giaddr: string;
  /** The circuit id dhcrelay -a puts in option 82: the interface facing the clients. */
  circuitId: string;
  capture: string;
  /** The DHCP messages captured on Kickstand's side of the relay link so far. */
  frames(): RelayFrame[];
  /** Kills dhcrelay and tcpdump (by our PIDs) and deletes the relay namespace, synchronously. */
  killNow(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
}

/** DHCP messages (UDP port 67 both ways on the relay link) from a pcap file's bytes. */
export function relayFrames(pcap: Buffer): RelayFrame[] {
  return parsePcap(pcap).flatMap((d) => {
    const r = decodePacket(d.payload);
    if (!r.ok) return [];
    const p = r.packet;
    const o82 = p.options.get(Opt.RELAY_AGENT_INFO);
    return [
      {
        op: p.op,
        xid: p.xid,
        mac: hexPairs(p.chaddr, 6),
        giaddr: p.giaddr,
        yiaddr: p.yiaddr,
        ...(o82 ? { o82: o82.toString('hex') } : {}),
      },
    ];
  });
}

/**
 * Builds the segment, moves `taps` (in net.vmNs) onto it, starts the capture and the relay.
 * `third` is the relayed subnet's third octet, `transit` the relay link's.
 */
export async function startRelay(
  net: LabNet,
  workDir: string,
  taps: string[],
  third: number,
  transit: number,
): Promise<RelaySegment> {
  const ns = `${net.tag}-rl`;
  const base = `198.18.${third}`;
  const link = `198.18.${transit}`;
  const capture = join(workDir, 'relay-link.pcap');
  const procs: ChildProcess[] = [];
  const seg: RelaySegment = {
    ns,
    subnet: `${base}.0/24`,
    poolStart: `${base}.100`,
    poolEnd: `${base}.199`,
    giaddr: `${base}.1`,
    circuitId: 'rl0',
    capture,
    frames() {
      return existsSync(capture) ? relayFrames(readFileSync(capture)) : [];
    },
    killNow() {
      for (const p of procs.splice(0)) {
        if (p.pid !== undefined && p.exitCode === null && p.signalCode === null) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      deleteNamespace(ns); // removes rl0/rl1 and with them their peers vr0 and ks1
    },
  };
  try {
    ip(['netns', 'add', ns]);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', net.vmNs, 'link', 'add', 'br1', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    ip(['-n', net.vmNs, 'link', 'set', 'br1', 'up']);
    for (const tap of taps) ip(['-n', net.vmNs, 'link', 'set', tap, 'master', 'br1']);
    ip(['link', 'add', 'vr0', 'netns', net.vmNs, 'type', 'veth', 'peer', 'name', 'rl0', 'netns', ns]);
    ip(['-n', net.vmNs, 'link', 'set', 'vr0', 'master', 'br1', 'up']);
    ip(['-n', ns, 'addr', 'add', `${seg.giaddr}/24`, 'dev', 'rl0']);
    ip(['-n', ns, 'link', 'set', 'rl0', 'up']);
    ip(['link', 'add', 'ks1', 'netns', net.ksNs, 'type', 'veth', 'peer', 'name', 'rl1', 'netns', ns]);
    ip(['-n', net.ksNs, 'addr', 'add', `${link}.1/24`, 'dev', 'ks1']);
    ip(['-n', net.ksNs, 'link', 'set', 'ks1', 'up']);
    ip(['-n', ns, 'addr', 'add', `${link}.2/24`, 'dev', 'rl1']);
    ip(['-n', ns, 'link', 'set', 'rl1', 'up']);
    ip(['-n', net.ksNs, 'route', 'add', seg.subnet, 'via', `${link}.2`]);
    ip(['-n', ns, 'route', 'add', net.subnet, 'via', `${link}.1`]);
    execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { timeout: 15_000 });
    const cap = spawn(
      'ip',
      ['netns', 'exec', net.ksNs, 'tcpdump', '-i', 'ks1', '-U', '-n', '-s', '0', '-w', capture, 'udp port 67'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(cap);
    await started(cap, 'tcpdump', /listening on/);
    // -a: add option 82 (circuit id = the interface the request came in on, RFC 3046 §2.0);
    // -id/-iu: clients only on rl0, servers only on rl1.
    const relay = spawn(
      'ip',
      ['netns', 'exec', ns, 'dhcrelay', '-4', '-d', '-a', '-id', 'rl0', '-iu', 'rl1', net.serverIp],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    procs.push(relay);
    await started(relay, 'dhcrelay', /Sending on\s+Socket/);
    return seg;
  } catch (e) {
    seg.killNow();
    throw e;
  }
}
