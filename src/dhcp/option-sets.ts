/**
 * @module dhcp/option-sets
 * Configured DHCP options (config/sections/dhcp-options.ts) turned into wire bytes once per
 * config, and layered host > profile > scope > global. A reply carries every option the client
 * asked for in option 55 (spilling into `file`/`sname` if need be, RFC 2132 §9.3) and the others
 * only while they fit in the options field, so a large set never costs a client its lease
 * (docs/dhcp.md, "Options").
 */
import type { DhcpOptionSet } from '../config/sections/dhcp-options';
import type { Host } from '../model/host';
import { OPTIONS_OFFSET, Opt } from './constants';
import { encodedOptionsLength, encodeDomainSearch, encodeTypedValue, ips, u16 } from './options';
import type { DhcpPacket } from './packet';

export type HostnamePolicy = 'name' | 'fqdn' | 'off';

/** One level's options, encoded: code → value in the order they are written, and the option 12 policy. */
export interface CompiledOptions {
  readonly values: ReadonlyMap<number, Buffer>;
  readonly hostname: HostnamePolicy | undefined;
}

export const NO_OPTIONS: CompiledOptions = { values: new Map(), hostname: undefined };

/** Encodes one level's set (values were validated at config load, so this cannot fail). */
export function compileOptionSet(set: DhcpOptionSet | undefined): CompiledOptions {
  if (set === undefined) return NO_OPTIONS;
  const values = new Map<number, Buffer>();
  if (set.mtu !== undefined) values.set(Opt.INTERFACE_MTU, u16(set.mtu));
  if (set.ntp !== undefined) values.set(Opt.NTP_SERVERS, ips(set.ntp));
  if (set.domainSearch !== undefined) values.set(Opt.DOMAIN_SEARCH, encodeDomainSearch(set.domainSearch));
  for (const o of set.custom) values.set(o.code, encodeTypedValue(o.type, o.value));
  if (values.size === 0 && set.hostname === undefined) return NO_OPTIONS;
  return { values, hostname: set.hostname };
}

/** `upper` over `lower`, code by code (and the option 12 policy likewise). */
export function layerOptions(lower: CompiledOptions, upper: CompiledOptions): CompiledOptions {
  if (upper === NO_OPTIONS) return lower;
  if (lower === NO_OPTIONS) return upper;
  const values = new Map(lower.values);
  for (const [code, v] of upper.values) values.set(code, v);
  return { values, hostname: upper.hostname ?? lower.hostname };
}

/** What the handler knows to pick a client's options: the profile and host levels, compiled once. */
export interface OptionLevels {
  readonly profiles: ReadonlyMap<string, CompiledOptions>;
  readonly hosts: ReadonlyMap<string, CompiledOptions>;
}

export function compileLevels(
  profiles: Readonly<Record<string, { dhcpOptions?: DhcpOptionSet }>>,
  hosts: Readonly<Record<string, DhcpOptionSet>>,
): OptionLevels {
  const p = new Map<string, CompiledOptions>();
  for (const [name, prof] of Object.entries(profiles)) {
    const c = compileOptionSet(prof.dhcpOptions);
    if (c !== NO_OPTIONS) p.set(name, c);
  }
  const h = new Map<string, CompiledOptions>();
  for (const [name, set] of Object.entries(hosts)) {
    const c = compileOptionSet(set);
    if (c !== NO_OPTIONS) h.set(name, c);
  }
  return { profiles: p, hosts: h };
}

/** The options of `host` in a scope whose (global + scope) options are `scoped`. */
export function optionsFor(levels: OptionLevels, scoped: CompiledOptions, host: Host | undefined): CompiledOptions {
  if (host === undefined) return scoped;
  const prof = levels.profiles.get(host.profile);
  const own = levels.hosts.get(host.name);
  if (prof === undefined && own === undefined) return scoped;
  return layerOptions(layerOptions(scoped, prof ?? NO_OPTIONS), own ?? NO_OPTIONS);
}

/** Option 12's value for a registered host under `policy` (RFC 2132 §3.14); undefined = none. */
export function hostnameValue(
  policy: HostnamePolicy | undefined,
  host: Host,
  domain: string | null,
): Buffer | undefined {
  if (policy === 'off') return undefined;
  const name = policy === 'fqdn' && domain !== null ? `${host.name}.${domain.replace(/\.$/, '')}` : host.name;
  return Buffer.from(name, 'latin1');
}

/**
 * Adds `opts` to reply `r`: the codes listed in the request's option 55 always (RFC 2131
 * §4.3.1), the rest in configured order while the options field of a `maxLen`-byte reply
 * (reply.ts maxReplyLength) still has room for them, the End octet and an echoed option 82.
 */
export function addConfiguredOptions(r: DhcpPacket, req: DhcpPacket, opts: CompiledOptions, maxLen: number): void {
  if (opts.values.size === 0) return;
  const prl = req.options.get(Opt.PARAM_REQUEST_LIST);
  const unasked: [number, Buffer][] = [];
  for (const [code, v] of opts.values) {
    if (prl !== undefined && prl.includes(code)) r.options.set(code, v);
    else unasked.push([code, v]);
  }
  if (unasked.length === 0) return;
  const relay = req.options.get(Opt.RELAY_AGENT_INFO);
  let room = maxLen - OPTIONS_OFFSET - 1 - encodedOptionsLength(r.options) - (relay ? relay.length + 2 : 0);
  for (const [code, v] of unasked) {
    const need = encodedOptionsLength(new Map([[code, v]]));
    if (need > room) continue;
    r.options.set(code, v);
    room -= need;
  }
}
