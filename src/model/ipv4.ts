/**
 * @module model/ipv4
 * Dotted-quad IPv4 addresses and CIDR subnets as unsigned 32-bit integers.
 */
import { ErrorCode, invalid } from '../errors';

const QUAD = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIpv4(s: string): boolean {
  return QUAD.test(s);
}

/**
 * Dotted quad → unsigned 32-bit integer. Also the DHCP hot path's (one call per request and
 * lease): no split, no arrays. `ip` is a validated quad (isIpv4) or one of our own.
 */
export function ipToInt(ip: string): number {
  let n = 0;
  let octet = 0;
  for (let k = 0; k < ip.length; k += 1) {
    const c = ip.charCodeAt(k);
    if (c === 46) {
      n = (n << 8) | (octet & 255);
      octet = 0;
    } else octet = octet * 10 + (c - 48);
  }
  return ((n << 8) | (octet & 255)) >>> 0;
}

/** Unsigned 32-bit integer → dotted quad (hot path: no arrays). */
export function intToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Subnet {
  /** Network address, e.g. 198.18.0.0 */
  network: string;
  prefix: number;
  /** Netmask, e.g. 255.255.255.0 */
  mask: string;
  broadcast: string;
}

/** Parse `a.b.c.d/nn`; undefined when malformed. The host bits are cleared. */
export function parseCidr(cidr: string): Subnet | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || !isIpv4(m[1]!)) return undefined;
  const prefix = Number(m[2]);
  if (prefix > 32) return undefined;
  const maskInt = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (ipToInt(m[1]!) & maskInt) >>> 0;
  return {
    network: intToIp(net),
    prefix,
    mask: intToIp(maskInt),
    broadcast: intToIp((net | (~maskInt >>> 0)) >>> 0),
  };
}

export function inSubnet(ip: string, subnet: Subnet): boolean {
  const maskInt = ipToInt(subnet.mask);
  return (ipToInt(ip) & maskInt) >>> 0 === ipToInt(subnet.network);
}

/** Validated dotted quad; throws KS_INVALID_IPV4 naming `field`. */
export function requireIpv4(input: string, field: string): string {
  if (!isIpv4(input)) {
    throw invalid(
      ErrorCode.INVALID_IPV4,
      field,
      `${JSON.stringify(input)} is not an IPv4 address`,
      'write it as a dotted quad, e.g. 198.18.0.20',
    );
  }
  return input;
}
