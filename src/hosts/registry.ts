/**
 * @module hosts/registry
 * The host registry service: validates operator input against the configuration (profiles,
 * subnet), canonicalises MACs, owns state changes (through model/host-state.ts) and records
 * every change on the host's timeline. The HTTP API and the boot services call this, never
 * the store's host rows directly, for anything that changes a host.
 */
import { ErrorCode, KickstandError, invalid } from '../errors';
import type { Config } from '../config/schema';
import { canonicalMac } from '../model/mac';
import { inSubnet, parseCidr, requireIpv4 } from '../model/ipv4';
import { validateHostName, validateVars, type Host, type HostState, type NewHost } from '../model/host';
import { checkTransition } from '../model/host-state';
import type { Store } from '../store/store';

export interface HostInput {
  name?: unknown;
  macs?: unknown;
  profile?: unknown;
  role?: unknown;
  ipv4?: unknown;
  vars?: unknown;
  netboot?: unknown;
}

/** A new host as `add` accepts it, every default applied. */
export type ValidHost = Required<NewHost>;

/** Validated operator-editable fields (what `update` may change besides state). */
export type HostFields = Partial<Pick<Host, 'macs' | 'profile' | 'role' | 'ipv4' | 'vars' | 'netboot'>>;

/** Hook run after a host is armed (issue a one-time install token); set by the boot service. */
export type ArmHook = (host: Host) => Promise<void>;

/** Hook run after a host is deleted (e.g. drop it from the WireGuard mesh everywhere); set by the bootstrapper. */
export type RemoveHook = (host: Host) => Promise<void>;

export class HostRegistry {
  private armHooks: ArmHook[] = [];
  private removeHooks: RemoveHook[] = [];

  constructor(
    private readonly store: Store,
    private readonly config: Pick<Config, 'profiles' | 'network'>,
  ) {}

  onArm(hook: ArmHook): void {
    this.armHooks.push(hook);
  }

  onRemove(hook: RemoveHook): void {
    this.removeHooks.push(hook);
  }

  get(name: string): Promise<Host | undefined> {
    return this.store.hosts.get(name);
  }

  async require(name: string): Promise<Host> {
    const h = await this.store.hosts.get(name);
    if (!h) {
      throw new KickstandError(ErrorCode.HOST_NOT_FOUND, `no host named ${name}`, {
        field: 'name',
        fix: 'list hosts with `kickstand host list`',
      });
    }
    return h;
  }

  list(): Promise<Host[]> {
    return this.store.hosts.list();
  }

  /** The checks and defaults of `add` (name, MACs, profile, role, subnet, vars); no store lookups. */
  validateNew(input: HostInput): ValidHost {
    return {
      name: validateHostName(str(input.name, 'name', 'node1')),
      macs: this.macs(input.macs),
      profile: this.profile(input.profile),
      role: this.role(input.role ?? 'agent'),
      ipv4: this.ipv4(input.ipv4 ?? null),
      vars: validateVars(input.vars ?? {}),
      netboot: bool(input.netboot ?? true, 'netboot'),
    };
  }

  /** The checks of `update` for the fields `input` gives (name excluded); absent fields stay absent. */
  validateFields(input: HostInput): HostFields {
    const out: HostFields = {};
    if (input.macs !== undefined) out.macs = this.macs(input.macs);
    if (input.profile !== undefined) out.profile = this.profile(input.profile);
    if (input.role !== undefined) out.role = this.role(input.role);
    if (input.ipv4 !== undefined) out.ipv4 = this.ipv4(input.ipv4);
    if (input.vars !== undefined) out.vars = validateVars(input.vars);
    if (input.netboot !== undefined) out.netboot = bool(input.netboot, 'netboot');
    return out;
  }

  async add(input: HostInput): Promise<Host> {
    const v = this.validateNew(input);
    const host = await this.store.hosts.create({ ...v, state: v.netboot ? 'armed' : 'registered' });
    await this.announce(host);
    return host;
  }

  /**
   * Creates validated hosts (see {@link validateNew}) in one store transaction — all or none —
   * then records `host.created` and runs the arm hooks for each, as `add` does.
   */
  async addMany(hosts: readonly ValidHost[]): Promise<Host[]> {
    const made = await this.store.hosts.createMany(
      hosts.map((v) => ({ ...v, state: v.netboot ? 'armed' : 'registered' })),
    );
    // Concurrently: the SQLite group commit then shares one fsync among many hosts' writes.
    await Promise.all(made.map((h) => this.announce(h)));
    return made;
  }

  private async announce(host: Host): Promise<void> {
    const { name, macs, profile, role, ipv4, netboot } = host;
    await this.store.events.append({
      host: name,
      kind: 'host.created',
      message: `registered with profile ${profile}, role ${role}${netboot ? ', armed for install' : ''}`,
      data: { macs, profile, role, ipv4, netboot },
    });
    if (netboot) await this.runArmHooks(host);
  }

  /** Operator edit (`host set`): fields other than state. Setting netboot arms or disarms. */
  async update(name: string, input: HostInput): Promise<Host> {
    const cur = await this.require(name);
    const patch: Parameters<Store['hosts']['update']>[1] = {};
    if (input.name !== undefined && input.name !== name) {
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'name',
        'a host cannot be renamed',
        'remove it and add it again under the new name',
      );
    }
    const { netboot: nb, ...fields } = this.validateFields(input);
    Object.assign(patch, fields);
    let armed = false;
    if (nb !== undefined) {
      if (nb && !cur.netboot) {
        checkTransition(name, cur.state, 'armed');
        Object.assign(patch, { netboot: true, state: 'armed', stateReason: 'armed by operator' });
        armed = true;
      } else if (!nb && cur.netboot) {
        Object.assign(patch, { netboot: false });
        if (cur.state === 'armed') {
          checkTransition(name, cur.state, 'registered');
          Object.assign(patch, { state: 'registered', stateReason: 'disarmed by operator' });
        }
      }
    }
    const host = await this.store.hosts.update(name, patch, cur.version);
    if (!host.netboot && cur.netboot) await this.store.tokens.revokeFor(name, Date.now()); // disarmed: the kickstart URL dies now
    await this.store.events.append({
      host: name,
      kind: 'host.updated',
      message: `updated ${Object.keys(patch).join(', ') || 'nothing'}`,
      data: { fields: Object.keys(patch) },
    });
    if (host.state !== cur.state) await this.recordState(host, cur.state, host.stateReason ?? 'operator');
    if (armed) await this.runArmHooks(host);
    return host;
  }

  async remove(name: string): Promise<void> {
    const host = await this.require(name);
    await this.store.hosts.delete(name);
    await this.store.events.append({ host: name, kind: 'host.deleted', message: 'removed from the registry' });
    for (const h of this.removeHooks) await h(host);
  }

  /**
   * Moves a host to `to` with `cause` (checked against model/host-state.ts), applying `extra`
   * in the same write. Arming (to `armed`) also sets netboot and runs the arm hooks.
   */
  async transition(
    name: string,
    to: HostState,
    cause: string,
    extra: Parameters<Store['hosts']['update']>[1] = {},
  ): Promise<Host> {
    const cur = await this.require(name);
    checkTransition(name, cur.state, to);
    const patch = { ...extra, state: to, stateReason: cause };
    if (to === 'armed') patch.netboot = true;
    const host = await this.store.hosts.update(name, patch, cur.version);
    // A one-time install token lives only while the host is armed or installing.
    if (to !== 'armed' && to !== 'installing') await this.store.tokens.revokeFor(name, Date.now());
    await this.recordState(host, cur.state, cause);
    if (to === 'armed') await this.runArmHooks(host);
    return host;
  }

  private async recordState(host: Host, from: HostState, cause: string): Promise<void> {
    await this.store.events.append({
      host: host.name,
      kind: 'host.state',
      level: host.state === 'failed' ? 'error' : 'info',
      message: `${from} → ${host.state}: ${cause}`,
      data: { from, to: host.state, cause },
    });
  }

  private async runArmHooks(host: Host): Promise<void> {
    for (const h of this.armHooks) await h(host);
  }

  private macs(v: unknown): string[] {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.length === 0) {
      throw invalid(
        ErrorCode.INVALID_MAC,
        'macs',
        'at least one MAC address is required',
        'pass --mac aa:bb:cc:dd:ee:ff (repeat for more NICs)',
      );
    }
    const out = list.map((m, i) => canonicalMac(String(m), `macs[${i}]`));
    const dup = out.find((m, i) => out.indexOf(m) !== i);
    if (dup) throw invalid(ErrorCode.INVALID_MAC, 'macs', `MAC ${dup} is listed twice`, 'list each NIC once');
    return out;
  }

  private profile(v: unknown): string {
    const p = str(v, 'profile', Object.keys(this.config.profiles)[0] ?? 'rocky9');
    if (!Object.prototype.hasOwnProperty.call(this.config.profiles, p)) {
      const known = Object.keys(this.config.profiles);
      throw invalid(
        ErrorCode.UNKNOWN_PROFILE,
        'profile',
        `no profile named ${JSON.stringify(p)}`,
        known.length ? `use one of: ${known.join(', ')}` : 'define profiles in the config file (profiles:)',
      );
    }
    return p;
  }

  private role(v: unknown): string {
    const r = str(v, 'role', 'agent');
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(r))
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'role',
        `role ${JSON.stringify(r)} is not valid`,
        'use a short lower-case word, e.g. server or agent',
      );
    return r;
  }

  private ipv4(v: unknown): string | null {
    if (v === null || v === '') return null;
    const ip = requireIpv4(str(v, 'ipv4', '198.18.0.20'), 'ipv4');
    const subnet = parseCidr(this.config.network.subnet)!;
    if (!inSubnet(ip, subnet) || ip === subnet.network || ip === subnet.broadcast) {
      throw invalid(
        ErrorCode.IP_OUTSIDE_SUBNET,
        'ipv4',
        `${ip} is not a host address in the provisioning subnet ${this.config.network.subnet}`,
        `pick an address inside ${this.config.network.subnet}, or leave it empty to lease from the pool`,
      );
    }
    if (ip === this.config.network.address) {
      throw invalid(ErrorCode.IP_IN_USE, 'ipv4', `${ip} is Kickstand's own address`, 'pick another address');
    }
    return ip;
  }
}

function str(v: unknown, field: string, example: string): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw invalid(
      ErrorCode.INVALID_INPUT,
      field,
      `${field} is required and must be a string`,
      `e.g. ${field}: ${example}`,
    );
  }
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw invalid(ErrorCode.INVALID_INPUT, field, `${field} must be true or false`, `e.g. ${field}: true`);
}
