/**
 * Waiting for a lab helper process (dnsmasq, dhcrelay) to say it is ready: test/e2e/lab/relay.ts
 * and site-dhcp.ts start one each.
 */
import type { ChildProcess } from 'node:child_process';

/** Resolves when `p` printed `want` on stdout or stderr; rejects on exit or after 10 s. */
export function started(p: ChildProcess, what: string, want: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`${what} did not start in 10 s: ${buf}`)), 10_000);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      if (want.test(buf)) {
        clearTimeout(t);
        resolve();
      }
    };
    p.stderr?.on('data', onData);
    p.stdout?.on('data', onData);
    p.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`${what} exited (${code}): ${buf}`));
    });
  });
}
