/**
 * Packet captures for tests on the wire: tcpdump in a test's namespace, writing a pcap that
 * test/dhcp/helpers/pcap.ts reads, and waiting for a child process to end.
 */
import type { ChildProcess } from 'node:child_process';
import type { Lab, Netns } from './netns';

/** Resolves when `p` has exited (at once if it already has). */
export function exited(p: ChildProcess): Promise<void> {
  return new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', () => r())));
}

/**
 * tcpdump on `ifc` in `ns` into `file` (default filter: what DHCP servers send, `udp src port
 * 67`); resolves once it listens, so nothing sent afterwards is missed. Stop it with SIGINT
 * and await `exited` before reading the file.
 */
export async function startTcpdump(
  lab: Lab,
  ns: Netns,
  ifc: string,
  file: string,
  filter = 'udp src port 67',
): Promise<ChildProcess> {
  const p = lab.spawnIn(ns, 'tcpdump', ['-i', ifc, '-U', '-n', '-s', '0', '-w', file, filter]);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('tcpdump did not start')), 10_000);
    p.stderr?.on('data', (d: Buffer) => d.toString().includes('listening on') && (clearTimeout(t), resolve()));
  });
  return p;
}
