/**
 * @module dhcp/scope
 * Address scopes: the directly attached provisioning subnet (config `network`) and the
 * subnets behind relays (config `dhcp.relayed`). Node cannot tell which interface a broadcast
 * came in on (no IP_PKTINFO), so one daemon serves ONE directly attached segment; relayed
 * subnets are chosen by giaddr, or by option 82 link-selection / option 118 (RFC 3527, 3011).
 */
import type { DhcpOptionSet } from '../config/sections/dhcp-options';
import type { SubnetConfig } from '../config/sections/network';
import { ipToInt, parseCidr, type Subnet } from '../model/ipv4';
import { Opt } from './constants';
import { compileOptionSet, layerOptions, type CompiledOptions } from './option-sets';
import { getIp, ipToBytes, ips, u32 } from './options';
import type { DhcpPacket } from './packet';
import { linkSelection } from './suboptions';

export interface Scope {
  subnet: Subnet;
  cfg: SubnetConfig;
  poolStart: number;
  poolEnd: number;
  /** True for the directly attached segment (replies are broadcast on it). */
  direct: boolean;
  networkInt: number;
  maskInt: number;
  /** Reply options of this scope, encoded once ({@link scopeOptionBytes}). */
  optionBytes: { timed: [number, Buffer][]; untimed: [number, Buffer][] };
  /** Configured options of this scope over the global ones (`dhcp.options`), encoded once. */
  configured: CompiledOptions;
}

/** `globalOptions` is `dhcp.options`, under the scope's own `options`. */
export function buildScope(cfg: SubnetConfig, direct: boolean, globalOptions?: DhcpOptionSet): Scope {
  const subnet = parseCidr(cfg.subnet);
  if (!subnet) throw new Error(`invalid subnet ${cfg.subnet}`); // config is validated before this
  return {
    subnet,
    cfg,
    poolStart: ipToInt(cfg.pool.start),
    poolEnd: ipToInt(cfg.pool.end),
    direct,
    networkInt: ipToInt(subnet.network),
    maskInt: ipToInt(subnet.mask),
    optionBytes: scopeOptionBytes(cfg, subnet.mask, subnet.broadcast),
    configured: layerOptions(compileOptionSet(globalOptions), compileOptionSet(cfg.options)),
  };
}

/**
 * The per-scope reply options, encoded once (they only change with the config): lease time,
 * T1 = 0.5 and T2 = 0.875 of it (RFC 2132 §9.2, §9.11), mask, broadcast, router, DNS, domain.
 */
function scopeOptionBytes(cfg: SubnetConfig, mask: string, broadcast: string): Scope['optionBytes'] {
  const t = cfg.leaseTime;
  const common: [number, Buffer][] = [
    [Opt.SUBNET_MASK, ipToBytes(mask)],
    [Opt.BROADCAST_ADDRESS, ipToBytes(broadcast)],
  ];
  if (cfg.gateway !== null) common.push([Opt.ROUTER, ipToBytes(cfg.gateway)]);
  if (cfg.dns.length > 0) common.push([Opt.DNS, ips(cfg.dns)]);
  if (cfg.domain !== null) common.push([Opt.DOMAIN_NAME, Buffer.from(cfg.domain, 'latin1')]);
  const timed: [number, Buffer][] = [
    [Opt.LEASE_TIME, u32(t)],
    [Opt.RENEWAL_TIME, u32(Math.floor(t / 2))],
    [Opt.REBINDING_TIME, u32(Math.floor((t * 7) / 8))],
    ...common,
  ];
  return { timed, untimed: common };
}

export function scopeContaining(scopes: readonly Scope[], ip: string): Scope | undefined {
  const n = ipToInt(ip);
  for (const s of scopes) if ((n & s.maskInt) >>> 0 === s.networkInt) return s;
  return undefined;
}

export type ScopeChoice = { scope: Scope; relayed: boolean } | { drop: 'untrusted-relay' | 'no-subnet' };

/**
 * RFC 2131 §4.3.1: the subnet comes from giaddr when set, else from the receiving interface
 * (here: the one direct segment), or from ciaddr for a unicast renewal.
 */
export function chooseScope(p: DhcpPacket, scopes: readonly Scope[], trustedRelays: ReadonlySet<string>): ScopeChoice {
  if (p.giaddr !== '0.0.0.0') {
    // D12: only configured relays may select a subnet; empty list = any giaddr in a known subnet.
    if (trustedRelays.size > 0 && !trustedRelays.has(p.giaddr)) return { drop: 'untrusted-relay' };
    const link =
      linkSelection(p.options.get(Opt.RELAY_AGENT_INFO)) ?? getIp(p.options, Opt.SUBNET_SELECTION) ?? p.giaddr;
    const scope = scopeContaining(scopes, link);
    return scope ? { scope, relayed: true } : { drop: 'no-subnet' };
  }
  if (p.ciaddr !== '0.0.0.0') {
    const scope = scopeContaining(scopes, p.ciaddr);
    return scope ? { scope, relayed: false } : { drop: 'no-subnet' };
  }
  const direct = scopes.find((s) => s.direct);
  return direct ? { scope: direct, relayed: false } : { drop: 'no-subnet' };
}
