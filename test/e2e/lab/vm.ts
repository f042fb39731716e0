/**
 * @module test/e2e/lab/vm
 * One lab machine: QEMU with real firmware nobody here wrote, booting from the network.
 *   bios: -machine pc, SeaBIOS + the iPXE option ROM of the NIC (Debian ipxe-qemu, pxe-*.rom part)
 *   uefi: -machine q35, OVMF (Debian ovmf) + the iPXE EFI option ROM of the NIC (efi-*.rom)
 *   uefi-pxe: OVMF's own UEFI PXE (virtio-net, no option ROM): DHCP, then TFTP of the loader
 *   uefi-sb: as uefi-pxe, with Secure Boot enforced: OVMF built with SMM (Debian's
 *     OVMF_CODE_4M.secboot.fd, which OVMF_CODE_4M.ms.fd links to) and a vars store with
 *     Microsoft's keys enrolled and Secure Boot on (OVMF_VARS_4M.ms.fd); the flash is then only
 *     writable from SMM (`cfi.pflash01 secure=on`), so the guest cannot switch it off
 *   uefi-http: OVMF's own UEFI HTTP Boot (virtio-net, no ROM), its PXE boot options switched
 *     off through fw_cfg as a machine's setup would (OvmfPkg: IPv4PXESupport, IPv6PXESupport),
 *     so the firmware's first network boot is HTTPv4: DHCP with vendor class HTTPClient, arch 16
 *   arm64: qemu-system-aarch64 -machine virt (cortex-a57), AAVMF (Debian qemu-efi-aarch64, the
 *     arm64 build of OVMF, Secure Boot off) and its own UEFI PXE on virtio-net without a ROM:
 *     DHCP arch 11; the console is the board's PL011 UART (ttyAMA0)
 * A VM with a disk (the journey lab) gets it as virtio-blk; the boot order is then given per
 * device (NIC bootindex 1, disk 2) so the firmware tries the network first and the disk next.
 * Every VM's serial console is read line by line (kept in memory and in a file); the firmware
 * console reaches it through -nographic (SeaBIOS sercon; OVMF's serial terminal).
 * Emulation is TCG by default: KVM is often unusable in CI and nested VMs (KICKSTAND_LAB_ACCEL=kvm
 * opts in). On this project's VMs /dev/kvm opens, but the nested KVM stops SeaBIOS and OVMF with
 * an internal error (a register dump on the console) before iPXE runs: opening it proves nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { copyFileSync, createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

export type VmKind = 'bios' | 'uefi' | 'uefi-pxe' | 'uefi-sb' | 'uefi-http' | 'arm64';

export interface VmSpec {
  name: string;
  kind: VmKind;
  mac: string;
  tap: string;
  /** A raw disk image file (journey lab). */
  disk?: string;
}

const OVMF_PAIRS: Array<[string, string]> = [
  ['/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd'],
  ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd'],
];

/** `tcg` unless KICKSTAND_LAB_ACCEL=kvm. */
export function labAccel(env: NodeJS.ProcessEnv = process.env): string {
  return env.KICKSTAND_LAB_ACCEL === 'kvm' ? 'kvm' : 'tcg';
}

/** Secure Boot: SMM-built OVMF, and a vars store with Microsoft's keys enrolled, SB enforced. */
const OVMF_SECURE_PAIRS: Array<[string, string]> = [
  ['/usr/share/OVMF/OVMF_CODE_4M.ms.fd', '/usr/share/OVMF/OVMF_VARS_4M.ms.fd'],
  ['/usr/share/OVMF/OVMF_CODE.ms.fd', '/usr/share/OVMF/OVMF_VARS.ms.fd'],
];

/** AAVMF (qemu-efi-aarch64): both images are padded to the virt board's 64 MiB flash banks. */
const AAVMF = { code: '/usr/share/AAVMF/AAVMF_CODE.fd', vars: '/usr/share/AAVMF/AAVMF_VARS.fd' };

export function ovmfFiles(secureBoot = false): { code: string; vars: string } | undefined {
  const p = (secureBoot ? OVMF_SECURE_PAIRS : OVMF_PAIRS).find(([c, v]) => existsSync(c) && existsSync(v));
  return p ? { code: p[0], vars: p[1] } : undefined;
}

/* eslint-disable no-control-regex -- terminal escapes are control characters */
/** Strip terminal escapes (iPXE colours, OVMF cursor moves) so console lines are greppable. */
export function plainConsole(s: string): string {
  return s
    .replace(/\x1b\[[0-9;=?]*[A-Za-z]/g, '')
    .replace(/\x1b[()][A-Z0-9]/g, '')
    .replace(/[\r\x00-\x08\x0b-\x1f]/g, '');
}
/* eslint-enable no-control-regex */

export class LabVm extends EventEmitter {
  readonly lines: string[] = [];
  private proc: ChildProcess | undefined;
  private log: WriteStream | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private readonly varsFile: string;
  boots = 0;

  constructor(
    readonly spec: VmSpec,
    private readonly ns: string,
    private readonly workDir: string,
    private readonly accel: string,
  ) {
    super();
    this.varsFile = join(workDir, `${spec.name}-OVMF_VARS.fd`);
  }

  qemuArgs(): string[] {
    const { kind, mac, tap, disk } = this.spec;
    const nic =
      (kind === 'uefi-pxe' || kind === 'uefi-sb' || kind === 'uefi-http' || kind === 'arm64'
        ? `virtio-net-pci,netdev=n0,mac=${mac},romfile=`
        : `e1000,netdev=n0,mac=${mac}`) + (disk ? ',bootindex=1' : '');
    const board = kind === 'bios' ? 'pc' : kind === 'arm64' ? 'virt' : 'q35';
    const args = [
      '-name',
      this.spec.name,
      '-machine',
      `${board},accel=${this.accel}${kind === 'uefi-sb' ? ',smm=on' : ''}`,
      ...(kind === 'arm64' ? ['-cpu', 'cortex-a57'] : []),
      '-m',
      '512',
      '-smp',
      '1',
    ];
    // -nodefaults: no VGA, CD-ROM or floppy to emulate or try to boot; -nographic still gives
    // SeaBIOS its serial console (and through it the iPXE ROM's output).
    args.push('-nodefaults', '-nographic', '-monitor', 'none', '-serial', 'stdio', '-no-reboot');
    // -boot n and bootindex= do not mix: with a disk the devices carry the boot order.
    if (!disk) args.push('-boot', 'n');
    args.push('-netdev', `tap,id=n0,ifname=${tap},script=no,downscript=no`, '-device', nic);
    // cache=unsafe: the lab's disks are thrown away with the work dir; no host flushes under TCG.
    if (disk)
      args.push(
        '-drive',
        `if=none,id=d0,format=raw,cache=unsafe,file=${disk}`,
        '-device',
        'virtio-blk-pci,drive=d0,bootindex=2',
      );
    if (kind !== 'bios') {
      const fw = kind === 'arm64' ? (existsSync(AAVMF.code) ? AAVMF : undefined) : ovmfFiles(kind === 'uefi-sb');
      if (!fw) throw new Error('UEFI firmware not found (apt-get install ovmf qemu-efi-aarch64)');
      if (kind === 'uefi-sb') args.push('-global', 'driver=cfi.pflash01,property=secure,value=on');
      // OVMF keeps its boot options in the vars store: one copy per VM, kept across its boots.
      if (!existsSync(this.varsFile)) copyFileSync(fw.vars, this.varsFile);
      args.push(
        '-drive',
        `if=pflash,format=raw,unit=0,readonly=on,file=${fw.code}`,
        '-drive',
        `if=pflash,format=raw,unit=1,file=${this.varsFile}`,
      );
      // With a disk behind the NIC, every network boot option the firmware has runs before
      // the disk: OVMF tries PXEv4, PXEv6, HTTPv4 and HTTPv6, each timing out in about a
      // minute when Kickstand offers no boot file. IPv6 network boot is switched off, as a
      // machine's firmware setup would on an IPv4-only rack (OvmfPkg RUNTIME_CONFIG.md; the
      // older OVMF reads only the IPv6PXESupport knob, the newer one IPv6Support as well).
      if (kind === 'uefi-http')
        args.push(
          '-fw_cfg',
          'name=opt/org.tianocore/IPv4PXESupport,string=no',
          '-fw_cfg',
          'name=opt/org.tianocore/IPv6PXESupport,string=no',
          '-fw_cfg',
          'name=opt/org.tianocore/IPv6Support,string=no',
        );
      else if (disk)
        args.push(
          '-fw_cfg',
          'name=opt/org.tianocore/IPv6PXESupport,string=no',
          '-fw_cfg',
          'name=opt/org.tianocore/IPv6Support,string=no',
        );
    }
    return args;
  }

  /** Power on (again). Console lines are emitted as 'line' events. */
  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    this.boots += 1;
    this.log = createWriteStream(join(this.workDir, `${this.spec.name}-boot${this.boots}.serial.log`));
    this.lines.push(`----- ${this.spec.name}: power on (boot ${this.boots}) -----`);
    const qemu = this.spec.kind === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
    const proc = spawn('ip', ['netns', 'exec', this.ns, qemu, ...this.qemuArgs()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let buf = '';
    const onData = (chunk: Buffer): void => {
      this.log?.write(chunk);
      buf += chunk.toString('latin1');
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const raw of parts) this.addLine(raw);
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        if (buf) this.addLine(buf);
        buf = '';
        this.log?.end();
        resolve(code);
        this.emit('exit', code);
      });
    });
  }

  private addLine(raw: string): void {
    const line = plainConsole(raw).trimEnd();
    if (!line.trim()) return;
    this.lines.push(line);
    this.emit('line', line);
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  /** Resolves with the exit code when QEMU ends (guest power-off, -no-reboot reset), or null on timeout. */
  async waitExit(timeoutMs: number): Promise<number | null | 'timeout'> {
    if (!this.running) return this.proc?.exitCode ?? null;
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => (t = setTimeout(() => r('timeout'), timeoutMs)));
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Resolves with the first console line (from now on) matching `re`, or undefined on timeout/exit. */
  waitLine(re: RegExp, timeoutMs: number): Promise<string | undefined> {
    return new Promise((resolve) => {
      const done = (v: string | undefined): void => {
        clearTimeout(t);
        this.off('line', onLine);
        this.off('exit', onExit);
        resolve(v);
      };
      const onLine = (l: string): void => {
        if (re.test(l)) done(l);
      };
      const onExit = (): void => done(undefined);
      const t = setTimeout(() => done(undefined), timeoutMs);
      this.on('line', onLine);
      this.on('exit', onExit);
    });
  }

  /** Hard power-off (SIGKILL by our own PID). */
  kill(): void {
    const pid = this.pid;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }

  tail(n: number): string[] {
    return this.lines.slice(-n);
  }
}
