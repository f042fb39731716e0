/**
 * @module test/e2e/lab/ssh
 * Real OpenSSH from a lab namespace with Kickstand's bootstrap key, trusting exactly the host
 * keys Kickstand pinned (StrictHostKeyChecking=yes: any other key is refused).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** Runs `ssh` in a namespace with Kickstand's bootstrap key, trusting exactly `hostKeys` for `ip`. */
export function sshIn(
  ns: string,
  keyFile: string,
  knownHostsFile: string,
  ip: string,
  hostKeys: readonly string[],
  command: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  writeFileSync(knownHostsFile, hostKeys.map((k) => `${ip} ${k.split(' ').slice(0, 2).join(' ')}`).join('\n') + '\n', {
    mode: 0o600,
  });
  const args = [
    'netns',
    'exec',
    ns,
    'ssh',
    '-i',
    keyFile,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHostsFile}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'ConnectTimeout=15',
    '-o',
    'LogLevel=ERROR',
    `root@${ip}`,
    '--',
    command,
  ];
  return new Promise((resolve) => {
    execFile('ip', args, { timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
