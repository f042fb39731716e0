/**
 * @module bootstrap/connect
 * From a registry host to a pinned SSH session: where to reach it (its static reservation,
 * else its current DHCP lease; a `bootstrap_address` var overrides both) and which host keys
 * to accept (only those its authenticated %post callback reported).
 */
import { ErrorCode, KickstandError } from '../errors';
import type { Host } from '../model/host';
import { isIpv4 } from '../model/ipv4';
import type { Store } from '../store/store';
import { SshSession, type SocketFactory, type SshTarget } from './ssh';

export interface ConnectorDeps {
  store: Pick<Store, 'leases'>;
  privateKey: () => string;
  ssh: () => { user: string; port: number; readyTimeoutMs: number };
  socketFactory?: SocketFactory;
}

export class NodeConnector {
  constructor(private readonly deps: ConnectorDeps) {}

  /** The host's provisioning address, or an error naming what is missing. */
  async address(host: Host): Promise<string> {
    const override = host.vars.bootstrap_address;
    if (override !== undefined) {
      if (!isIpv4(override))
        throw new KickstandError(ErrorCode.INVALID_VAR, `bootstrap_address of ${host.name} is not an IPv4 address`, {
          field: 'vars.bootstrap_address',
        });
      return override;
    }
    if (host.ipv4) return host.ipv4;
    for (const mac of host.macs) {
      const l = await this.deps.store.leases.findByMac(mac);
      if (l && (l.state === 'bound' || l.state === 'released')) return l.ip;
    }
    throw new KickstandError(
      ErrorCode.BOOTSTRAP_FAILED,
      `no address known for ${host.name}: no static IPv4 and no DHCP lease`,
      {
        fix: 'give the host a static address (`kickstand host set NAME --ip …`) or a bootstrap_address var',
      },
    );
  }

  async target(host: Host): Promise<SshTarget> {
    const ssh = this.deps.ssh();
    return { name: host.name, address: await this.address(host), port: ssh.port, user: ssh.user };
  }

  async open(host: Host): Promise<SshSession> {
    const ssh = this.deps.ssh();
    const opts = {
      privateKey: this.deps.privateKey(),
      hostKeys: host.sshHostKeys,
      readyTimeoutMs: ssh.readyTimeoutMs,
      ...(this.deps.socketFactory ? { connect: this.deps.socketFactory } : {}),
    };
    return SshSession.open(await this.target(host), opts);
  }

  get socketFactory(): SocketFactory | undefined {
    return this.deps.socketFactory;
  }
}
