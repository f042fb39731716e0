/**
 * @module init/segment
 * What `kickstand init` learns about the provisioning interface before it probes: its IPv4
 * address and subnet, its MAC, the default gateway when one is reached through it, and the
 * dynamic pool it proposes for authoritative mode.
 */
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { ErrorCode, KickstandError } from '../errors';
import { intToIp, ipToInt, parseCidr, type Subnet } from '../model/ipv4';

export interface Segment {
  interface: string;
  /** Kickstand's own address on it. */
  address: string;
  /** CIDR of the connected subnet, e.g. 198.18.0.0/24. */
  subnet: string;
  broadcast: string;
  mac: string;
  /** The default route's gateway when it goes out of this interface, else null. */
  gateway: string | null;
  /** Other IPv4 addresses on the interface (the first one is used). */
  otherAddresses: string[];
}

/** Reads interface `name`; throws KS_INVALID_INPUT naming --interface when it cannot be used. */
export function readSegment(name: string, routeTable = readProcRoute()): Segment {
  const all = networkInterfaces();
  const entries = all[name];
  if (entries === undefined) {
    const names = Object.keys(all).filter((n) => n !== 'lo');
    throw new KickstandError(ErrorCode.INVALID_INPUT, `there is no network interface ${name}`, {
      field: '--interface',
      fix: names.length ? `use one of ${names.join(', ')} (ip -brief address)` : 'see ip -brief address',
    });
  }
  const v4 = entries.filter((e) => e.family === 'IPv4' && !e.internal);
  if (v4.length === 0)
    throw new KickstandError(ErrorCode.INVALID_INPUT, `interface ${name} has no IPv4 address`, {
      field: '--interface',
      fix: `give it the address Kickstand serves the segment from, e.g. ip address add 198.18.0.1/24 dev ${name}`,
    });
  const first = v4[0]!;
  if (first.cidr === null)
    throw new KickstandError(ErrorCode.INVALID_INPUT, `interface ${name} reports no prefix length`, {
      field: '--interface',
    });
  const sn = parseCidr(first.cidr)!;
  if (sn.prefix > 30)
    throw new KickstandError(ErrorCode.INVALID_INPUT, `${first.cidr} on ${name} leaves no addresses to lease`, {
      field: '--interface',
      fix: 'the provisioning segment needs a subnet of /30 or larger',
    });
  return {
    interface: name,
    address: first.address,
    subnet: `${sn.network}/${sn.prefix}`,
    broadcast: sn.broadcast,
    mac: first.mac,
    gateway: defaultGateway(routeTable, name),
    otherAddresses: v4.slice(1).map((e) => e.address),
  };
}

/** /proc/net/route, or '' where there is none. */
function readProcRoute(): string {
  try {
    return readFileSync('/proc/net/route', 'utf8');
  } catch {
    return '';
  }
}

/** The gateway of the default route through `iface` in /proc/net/route text (little-endian hex). */
export function defaultGateway(routeTable: string, iface: string): string | null {
  for (const line of routeTable.split('\n').slice(1)) {
    const [dev, dest, gw, , , , , mask] = line.trim().split(/\s+/);
    if (dev !== iface || dest !== '00000000' || mask !== '00000000' || gw === undefined) continue;
    const n = Buffer.from(gw, 'hex').readUInt32LE(0);
    if (n !== 0) return intToIp(n);
  }
  return null;
}

/** Most addresses a proposed pool holds; the operator widens it in the config when needed. */
export const MAX_POOL = 200;

/**
 * The pool proposed for authoritative mode: a block of the subnet's upper half (or lower half
 * when Kickstand's own address or the gateway sits there), at most {@link MAX_POOL} addresses,
 * never the network or broadcast address, Kickstand's address or the gateway.
 */
export function proposePool(
  subnet: string,
  address: string,
  gateway: string | null,
): { start: string; end: string; size: number } {
  const sn: Subnet = parseCidr(subnet)!;
  const first = ipToInt(sn.network) + 1;
  const last = ipToInt(sn.broadcast) - 1;
  const mid = first + Math.floor((last - first + 1) / 2);
  const taken = [address, ...(gateway ? [gateway] : [])].map(ipToInt);
  const upper = { lo: mid, hi: last };
  const lower = { lo: first, hi: mid - 1 };
  const free = (r: { lo: number; hi: number }): boolean => taken.every((t) => t < r.lo || t > r.hi);
  let r = free(upper) ? upper : free(lower) ? lower : upper;
  if (r.hi - r.lo + 1 > MAX_POOL) r = { lo: r.hi - MAX_POOL + 1, hi: r.hi };
  // A tiny subnet may have Kickstand's address inside both halves' reach: step around it.
  while (taken.includes(r.lo) && r.lo < r.hi) r = { ...r, lo: r.lo + 1 };
  while (taken.includes(r.hi) && r.hi > r.lo) r = { ...r, hi: r.hi - 1 };
  return { start: intToIp(r.lo), end: intToIp(r.hi), size: r.hi - r.lo + 1 };
}
