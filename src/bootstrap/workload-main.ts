/**
 * @module bootstrap/workload-main
 * Lean entry point for the workload runner: `node workload-main.js --inventory FILE
 * [--parallel N]`. It loads only ssh2 and the runner (not the daemon's HTTP/SQLite stack that
 * the full CLI imports), and it opens every node's TCP connection *before* loading ssh2, so
 * the TCP handshake and sshd's fork and banner overlap module loading (ssh2 accepts an
 * already-connected `sock`). `kickstand bootstrap --inventory` runs the same function.
 * Prints `NAME changed=K` per node; exit 1 if any node failed.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import type { WorkloadInventory, WorkloadResult } from './workload';

/** Pre-opened sockets, each handed out once; a failed or reused one is replaced by a new dial. */
function earlySockets(inv: WorkloadInventory): (address: string, port: number) => Socket {
  const early = new Map<string, Socket>();
  for (const n of inv.nodes) {
    const s = connect(n.port, n.host);
    s.once('error', () => early.delete(`${n.host}:${n.port}`));
    early.set(`${n.host}:${n.port}`, s);
  }
  return (address, port) => {
    const id = `${address}:${port}`;
    const s = early.get(id);
    early.delete(id);
    return s && !s.destroyed ? s : connect(port, address);
  };
}

export async function workloadMain(
  argv: string[],
  write: (s: string) => void = (s) => process.stdout.write(s),
): Promise<number> {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const file = get('--inventory');
  if (!file) {
    write('usage: workload-main --inventory FILE [--parallel N]\n');
    return 2;
  }
  const inv = JSON.parse(readFileSync(file, 'utf8')) as WorkloadInventory;
  const sockets = earlySockets(inv);
  // Loaded only now, while the TCP handshakes above are in flight.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runWorkload } = require('./workload') as typeof import('./workload');
  const results: WorkloadResult[] = await runWorkload(inv, {
    parallelism: Number(get('--parallel') ?? inv.nodes.length),
    readyTimeoutMs: 20_000,
    timeoutMs: 120_000,
    connect: sockets,
  });
  for (const r of results) write(r.ok ? `${r.node} changed=${r.changed}\n` : `${r.node} failed: ${r.error}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

if (require.main === module) {
  workloadMain(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`error: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
