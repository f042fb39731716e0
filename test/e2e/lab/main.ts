/**
 * @module test/e2e/lab/main
 * `sudo npm run lab`: the README's demo. Runs the end-to-end PXE lab with a live timeline and a
 * summary table; exit code 0 when every check passed. Needs root (namespaces, taps, ports 67/69
 * inside the lab's namespace) and installs missing Debian packages, saying which and why.
 *   --verbose   every console line and every Kickstand event
 *   --keep      keep the lab's work dir (serial logs, kickstand.log, config) even on success
 *   --no-install  do not apt-get install; fail naming the missing packages instead
 *   --proxy     the proxy lab instead: dnsmasq leases, Kickstand answers as proxyDHCP
 *   --journey   the journey lab instead: machines with disks, a real Debian 12 installed and
 *               booted from disk, its sshd checked against the key %post reported
 *   --firmware  the firmware lab instead: Secure Boot (shim → signed GRUB → signed kernel), an
 *               unsigned loader refused, UEFI HTTP Boot, and an arm64 machine (AAVMF → arm64
 *               shim and GRUB → Debian's arm64 kernel; docs/firmware.md)
 * KICKSTAND_LAB_ACCEL=kvm uses KVM instead of TCG software emulation (the default).
 */
import { abort, runLab } from './lab';
import { labAccel } from './vm';

async function main(): Promise<number> {
  const args = new Set(process.argv.slice(2));
  if (args.has('--help') || args.has('-h')) {
    process.stdout.write(
      'usage: sudo npm run lab -- [--verbose] [--keep] [--no-install] [--proxy | --journey | --firmware]\n',
    );
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      'the lab needs root (network namespaces, taps, DHCP/TFTP ports inside them): run `sudo npm run lab`\n',
    );
    return 2;
  }
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${sig}: stopping the lab and removing its namespaces\n`);
    const dir = abort();
    if (dir) process.stderr.write(`lab files kept in ${dir} (serial logs, kickstand.log, config)\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => void abort());
  const r = await runLab({
    out: (s) => process.stdout.write(s + '\n'),
    color: process.stdout.isTTY === true,
    verbose: args.has('--verbose'),
    installPrereqs: !args.has('--no-install'),
    keep: args.has('--keep'),
    accel: labAccel(),
    scenario: args.has('--firmware')
      ? 'firmware'
      : args.has('--journey')
        ? 'journey'
        : args.has('--proxy')
          ? 'proxy'
          : 'pxe',
  });
  return r.ok ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`lab failed: ${(e as Error).stack ?? String(e)}\n`);
    abort();
    process.exitCode = 1;
  },
);
