/**
 * @module test/e2e/lab/relay-checks
 * The checks of a machine that boots through the relay segment (relay.ts), beside
 * checkInstalled:
 *  - relayed scope: Kickstand chose the relayed subnet by giaddr (RFC 2131 §4.3.1): every
 *    address it acked the machine, and its lease table row, are in that subnet;
 *  - relay in the timeline: each of Kickstand's own `dhcp.ack` events for the machine names the
 *    relay (giaddr) and option 82's circuit id it came through (src/dhcp/suboptions.ts relayOrigin);
 *  - option 82 in: every request of the machine that reached Kickstand's side of the relay link
 *    came through dhcrelay (giaddr) with option 82 and the relay's circuit id (RFC 3046 §2.0);
 *  - option 82 echoed: Kickstand answered (OFFER and ACK at least), each reply to the relay
 *    (giaddr) with the request's option 82 unchanged (RFC 3046 §2.2).
 * Pure over what was recorded, so each check can be shown to fail (test/e2e/lab-checks.test.ts).
 */
import { inSubnet as inParsed, isIpv4, parseCidr } from '../../../src/model/ipv4';
import type { HostEvent } from '../../../src/model/event';
import type { Check, LeaseRow, MachineRecord } from './checks';
import type { RelayFrame } from './relay';

/** What the relay checks need to know about the segment. */
export interface RelayFacts {
  subnet: string;
  giaddr: string;
  circuitId: string;
}

function inSubnet(ip: string, cidr: string): boolean {
  const net = parseCidr(cidr);
  return net !== undefined && isIpv4(ip) && inParsed(ip, net);
}

/** RFC 3046 §2.0: option 82 is a list of sub-options (code, length, value), no Pad or End. */
export function circuitIdOf(o82hex: string | undefined): string | undefined {
  if (o82hex === undefined) return undefined;
  const v = Buffer.from(o82hex, 'hex');
  for (let i = 0; i + 2 <= v.length; i += 2 + v[i + 1]!)
    if (v[i] === 1) return v.subarray(i + 2, i + 2 + v[i + 1]!).toString('latin1');
  return undefined;
}

export function checkRelay(
  r: MachineRecord,
  all: HostEvent[],
  leases: LeaseRow[],
  frames: RelayFrame[],
  seg: RelayFacts,
): Check[] {
  const m = r.def;
  const c: Check[] = [];
  const add = (step: string, ok: boolean, detail: string): void => void c.push({ machine: m.name, step, ok, detail });
  const acks = all.filter((e) => (e.mac === m.mac || e.host === m.name) && e.kind === 'dhcp.ack');
  const acked = [...new Set(acks.map((e) => String(e.data.ip)))];
  const rows = leases.filter((l) => l.mac === m.mac);
  add(
    'relayed scope',
    acked.length > 0 &&
      acked.every((ip) => inSubnet(ip, seg.subnet)) &&
      rows.length > 0 &&
      rows.every((l) => inSubnet(l.ip, seg.subnet)),
    `acked ${acked.join(', ') || 'nothing'}; lease table for ${m.mac}: ${rows.map((l) => l.ip).join(', ') || 'no row'}; want all in ${seg.subnet}`,
  );
  const unnamed = acks.filter((e) => {
    const relay = e.data.relay as { giaddr?: unknown; circuitId?: unknown } | undefined;
    return relay?.giaddr !== seg.giaddr || relay.circuitId !== seg.circuitId;
  });
  add(
    'relay in the timeline',
    acks.length > 0 && unnamed.length === 0,
    acks.length === 0
      ? `no dhcp.ack for ${m.mac}`
      : unnamed.length
        ? `${unnamed.length}/${acks.length} dhcp.ack events without relay ${seg.giaddr} circuit id "${seg.circuitId}" (first: ${JSON.stringify(unnamed[0]!.data.relay ?? null)})`
        : `${acks.length} dhcp.ack events name relay ${seg.giaddr}, circuit id "${seg.circuitId}"`,
  );
  const requests = frames.filter((f) => f.op === 1 && f.mac === m.mac);
  const bad = requests.filter((f) => f.giaddr !== seg.giaddr || circuitIdOf(f.o82) !== seg.circuitId);
  add(
    'option 82 in',
    requests.length > 0 && bad.length === 0,
    requests.length === 0
      ? `no relayed request from ${m.mac} on Kickstand's side of the relay link`
      : bad.length
        ? `${bad.length}/${requests.length} requests without giaddr ${seg.giaddr} and circuit id "${seg.circuitId}" (first: giaddr ${bad[0]!.giaddr}, option 82 ${bad[0]!.o82 ?? 'absent'})`
        : `${requests.length} requests via giaddr ${seg.giaddr}, option 82 circuit id "${seg.circuitId}" (${requests[0]!.o82})`,
  );
  const replies = frames.filter((f) => f.op === 2 && f.mac === m.mac);
  const unechoed = replies.filter((a) => {
    const asked = requests.find((q) => q.xid === a.xid);
    return asked === undefined || asked.o82 === undefined || a.o82 !== asked.o82 || a.giaddr !== seg.giaddr;
  });
  add(
    'option 82 echoed',
    replies.length >= 2 && unechoed.length === 0,
    replies.length < 2
      ? `${replies.length} replies from Kickstand to the relay for ${m.mac} (want OFFER and ACK at least)`
      : unechoed.length
        ? `${unechoed.length}/${replies.length} replies without the request's option 82 (first: xid ${unechoed[0]!.xid.toString(16)}, option 82 ${unechoed[0]!.o82 ?? 'absent'})`
        : `${replies.length} replies to giaddr ${seg.giaddr}, each with its request's option 82 unchanged (yiaddr ${[...new Set(replies.map((a) => a.yiaddr))].join(', ')})`,
  );
  return c;
}
