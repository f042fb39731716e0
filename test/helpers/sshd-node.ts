/**
 * Test "nodes" for the SSH bootstrapper: each node is a network namespace running a real
 * OpenSSH sshd (`/usr/sbin/sshd -D`, its own generated ed25519 host key, UsePAM no, root logs in
 * with Kickstand's bootstrap key only) in its own mount namespace, so that /run (the wireguard-go
 * UAPI sockets, /run/sshd) and /etc/wireguard are private to the node like on a real machine.
 * The nodes' eth0 are bridged in a control namespace; addresses come from 198.18.0.0/15 only.
 *
 * /usr/local/bin and /var/lib are the node's own too (overlays on the host's, upper layers in
 * the node's dir), so what an installer puts there (the k3s bundle: /usr/local/bin/k3s,
 * /var/lib/rancher/…) stays on that node and never reaches the machine running the tests.
 *
 * The test process stays in the root namespace, which has no 198.18 address. It reaches the
 * nodes through a forwarder started inside the control namespace: one unix socket per node
 * (unix sockets live in the filesystem, not in a network namespace), handed to ssh2 as `sock`
 * by the bootstrapper's connection factory. The other way round, `serveOnBridge` lets the
 * nodes reach a server the test runs on a unix socket (Kickstand's HTTP) at the bridge address.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killNamespace, Lab, sh, uniqueTag, type Netns } from './netns';

export interface SshdNode {
  name: string;
  index: number;
  ns: Netns;
  /** Provisioning address (eth0) on the bridge, 198.18.<subnet>.<10+index>. */
  address: string;
  port: number;
  /** `ssh-ed25519 AAAA… name` */
  hostKey: string;
  /** The node's private dir (bind-mounted at /etc/wireguard: etc-wireguard/; recorder output: rec/). */
  dir: string;
  /** Run a command inside the node (its netns and mount namespace, as the sshd sees it). */
  exec(cmd: string, args: string[], timeoutMs?: number): string;
  /** Kills every process of the node (sshd, wireguard-go, sessions): the machine "dies". */
  kill(): void;
  /** The tail of sshd's log (LogLevel VERBOSE: accepted keys, sessions). */
  sshdLog(): string;
}

const FORWARDER = `
const net = require('node:net'); const fs = require('node:fs');
const maps = JSON.parse(process.argv[1]);
for (const m of maps) {
  try { fs.unlinkSync(m.path); } catch {}
  net.createServer((c) => { const s = net.connect(m.port, m.host); c.pipe(s); s.pipe(c);
    s.on('error', () => c.destroy()); c.on('error', () => s.destroy()); }).listen(m.path);
}
process.stdout.write('ready\\n');
`;

const REVERSE = `
const net = require('node:net');
const [host, port, path] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
net.createServer((c) => { const s = net.connect(path); c.pipe(s); s.pipe(c);
  s.on('error', () => c.destroy()); c.on('error', () => s.destroy()); }).listen(port, host, () => process.stdout.write('ready\\n'));
`;

export class SshdLab {
  readonly lab = new Lab();
  readonly dir: string;
  readonly tag: string;
  readonly nodes: SshdNode[] = [];
  private ctl!: Netns;
  private readonly subnet: number;

  constructor(
    readonly authorizedKey: string,
    opts: { subnet?: number } = {},
  ) {
    this.tag = uniqueTag('ks');
    this.dir = mkdtempSync(join(tmpdir(), 'ks-sshd-'));
    this.subnet = opts.subnet ?? 40 + Math.floor(Math.random() * 200);
    writeFileSync(join(this.dir, 'authorized_keys'), authorizedKey.trim() + '\n', { mode: 0o644 });
  }

  /** The control namespace with the bridge (198.18.<subnet>.1/24). */
  setup(): void {
    this.ctl = this.lab.addNamespace(`${this.tag}c`);
    this.ctl.exec('ip', ['link', 'add', 'br0', 'type', 'bridge']);
    this.ctl.exec('ip', ['addr', 'add', `198.18.${this.subnet}.1/24`, 'dev', 'br0']);
    this.ctl.exec('ip', ['link', 'set', 'br0', 'up']);
    if (!existsSync('/etc/wireguard')) mkdirSync('/etc/wireguard', { mode: 0o700 });
  }

  get subnetCidr(): string {
    return `198.18.${this.subnet}.0/24`;
  }

  /** Starts node `index` (1-based), its sshd listening on eth0:22. */
  addNode(index: number, name = `node${index}`): SshdNode {
    const nd = join(this.dir, name);
    for (const d of [
      '',
      'home',
      'etc-wireguard',
      'rec',
      'ov/usr-local-bin/up',
      'ov/usr-local-bin/work',
      'ov/var-lib/up',
      'ov/var-lib/work',
    ])
      mkdirSync(join(nd, d), { recursive: true, mode: 0o700 });
    const ns = this.lab.addNamespace(`${this.tag}n${index}`);
    const address = `198.18.${this.subnet}.${10 + index}`;
    sh('ip', [
      'link',
      'add',
      `v${this.tag}${index}`.slice(0, 15),
      'netns',
      this.ctl.name,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns.name,
    ]);
    this.ctl.exec('ip', ['link', 'set', `v${this.tag}${index}`.slice(0, 15), 'master', 'br0', 'up']);
    ns.exec('ip', ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
    ns.exec('ip', ['link', 'set', 'eth0', 'up']);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(nd, 'host_ed25519')]);
    const cfg = join(nd, 'sshd_config');
    writeFileSync(cfg, sshdConfig(address, nd, join(this.dir, 'authorized_keys')));
    writeFileSync(join(nd, 'boot.sh'), bootScript(nd, cfg), { mode: 0o755 });
    chmodSync(join(nd, 'boot.sh'), 0o755);
    const child = this.lab.spawnIn(
      ns,
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', join(nd, 'boot.sh')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-20000)));
    const node: SshdNode = {
      name,
      index,
      ns,
      address,
      port: 22,
      hostKey: readFileSync(join(nd, 'host_ed25519.pub'), 'utf8').trim(),
      dir: nd,
      exec: (cmd, args, timeoutMs) => nodeExec(nd, cmd, args, timeoutMs),
      kill: () => killNamespace(ns.name),
      sshdLog: () => log,
    };
    waitTcp(ns, address, 22, () => log);
    this.nodes.push(node);
    return node;
  }

  /** Starts the forwarder in the control namespace: one unix socket per node (call after addNode). */
  async forward(): Promise<void> {
    const maps = this.nodes.map((n) => ({ path: this.sockPath(n.address), host: n.address, port: n.port }));
    if (this.fwdPid !== undefined) {
      try {
        process.kill(this.fwdPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const child = this.lab.spawnIn(this.ctl, process.execPath, ['-e', FORWARDER, JSON.stringify(maps)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.fwdPid = child.pid;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('forwarder did not start')), 10_000);
      child.stdout!.once('data', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private fwdPid: number | undefined;

  /** The bridge address nodes reach the test at (198.18.<subnet>.1). */
  get bridgeAddress(): string {
    return `198.18.${this.subnet}.1`;
  }

  /**
   * Makes the unix socket `path` (a server in the test process) reachable from every node at
   * http://<bridgeAddress>:<port>: a forwarder in the control namespace, stopped by cleanup().
   */
  async serveOnBridge(port: number, path: string): Promise<void> {
    const child = this.lab.spawnIn(
      this.ctl,
      process.execPath,
      ['-e', REVERSE, this.bridgeAddress, String(port), path],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('bridge forwarder did not start')), 10_000);
      child.stdout!.once('data', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  sockPath(address: string): string {
    return join(this.dir, `${address}.sock`);
  }

  /** The bootstrapper's connection factory for these nodes. */
  readonly connect = (address: string, _port: number): Socket => connect(this.sockPath(address));

  async cleanup(): Promise<void> {
    await this.lab.cleanup();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sshdConfig(address: string, nd: string, authorized: string): string {
  return `ListenAddress ${address}:22
HostKey ${nd}/host_ed25519
AuthorizedKeysFile ${authorized}
PidFile none
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitUserRC no
PrintMotd no
PrintLastLog no
UseDNS no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 100:30:200
MaxSessions 64
SetEnv HOME=${nd}/home
LogLevel VERBOSE
`;
}

/** Private /run (sshd privsep dir, wireguard-go sockets), /etc/wireguard, /usr/local/bin and /var/lib for the node. */
function bootScript(nd: string, cfg: string): string {
  return `set -e
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/wireguard /run/netns
mount --bind ${nd}/etc-wireguard /etc/wireguard
mount -t overlay overlay -o lowerdir=/usr/local/bin,upperdir=${nd}/ov/usr-local-bin/up,workdir=${nd}/ov/usr-local-bin/work /usr/local/bin
mount -t overlay overlay -o lowerdir=/var/lib,upperdir=${nd}/ov/var-lib/up,workdir=${nd}/ov/var-lib/work /var/lib
echo $$ > ${nd}/boot.pid
exec /usr/sbin/sshd -D -e -f ${cfg}
`;
}

/** Runs `cmd` in the node's network and mount namespaces (those of its sshd, pid in boot.pid). */
function nodeExec(nd: string, cmd: string, args: string[], timeoutMs = 15_000): string {
  const pid = readFileSync(join(nd, 'boot.pid'), 'utf8').trim();
  return sh('nsenter', ['-t', pid, '-m', '-n', '--', cmd, ...args], { timeoutMs });
}

function waitTcp(ns: Netns, address: string, port: number, log: () => string): void {
  for (let i = 0; i < 100; i++) {
    try {
      ns.exec('bash', ['-c', `exec 3<>/dev/tcp/${address}/${port}`], { timeoutMs: 2000 });
      return;
    } catch {
      execFileSync('sleep', ['0.05']);
    }
  }
  throw new Error(`sshd on ${address}:${port} did not start: ${log()}`);
}
