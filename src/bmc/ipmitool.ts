/**
 * @module bmc/ipmitool
 * Runs the real `ipmitool` with `-I lanplus` (IPMI v2.0 RMCP+, §13) through execFile: an argv
 * array, no shell (reliability.md A05). The password travels in the child's environment
 * (`-E` reads IPMI_PASSWORD), never on the command line where `ps` and /proc/<pid>/cmdline show
 * it. Every run is bounded by a timeout and SIGKILLed past it. Failures become KS_BMC_FAILED.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import { ErrorCode, KickstandError } from '../errors';
import { redactSecrets, type Logger } from '../log';
import type { BmcEndpoint } from './config';

export interface IpmitoolTarget {
  endpoint: BmcEndpoint;
  username: string;
  password: string;
  /** `-C`: RMCP+ cipher suite; undefined = ipmitool negotiates (17 if offered, else 3). */
  cipherSuite?: 3 | 17;
}

export interface IpmitoolOptions {
  bin: string;
  timeoutMs: number;
  log: Logger;
}

const MAX_OUTPUT = 256 * 1024;

/**
 * The argv for one command. `-L OPERATOR`: Chassis Control and Set System Boot Options need
 * Operator privilege (IPMI v2.0 Appendix G), so an operator-only BMC account works and an
 * admin account opens a less privileged session. `-N 2 -R 3`: 2 s per try, 3 retries.
 */
export function ipmitoolArgs(t: IpmitoolTarget, command: readonly string[]): string[] {
  return [
    '-I',
    'lanplus',
    '-H',
    t.endpoint.host,
    '-p',
    String(t.endpoint.port),
    '-U',
    t.username,
    '-E',
    '-L',
    'OPERATOR',
    '-N',
    '2',
    '-R',
    '3',
    ...(t.cipherSuite === undefined ? [] : ['-C', String(t.cipherSuite)]),
    ...command,
  ];
}

/** Runs one ipmitool command and returns its stdout. */
export function runIpmitool(t: IpmitoolTarget, command: readonly string[], opts: IpmitoolOptions): Promise<string> {
  const args = ipmitoolArgs(t, command);
  const op = command.join(' ');
  const where = `${t.endpoint.host}:${t.endpoint.port}`;
  const started = Date.now();
  opts.log.debug({ op, bmcAddress: where }, 'ipmitool run');
  return new Promise((resolve, reject) => {
    execFile(
      opts.bin,
      args,
      {
        // Only what ipmitool needs: PATH for nothing else to surprise us, C locale for stable output.
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', IPMI_PASSWORD: t.password },
        timeout: opts.timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: MAX_OUTPUT,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        const ms = Date.now() - started;
        if (err === null) {
          opts.log.debug({ op, bmcAddress: where, ms }, 'ipmitool done');
          resolve(stdout);
          return;
        }
        const failure = ipmitoolFailure(err, String(stderr), t, op, opts.timeoutMs);
        opts.log.warn({ op, bmcAddress: where, ms, err: failure.message }, 'ipmitool failed');
        reject(failure);
      },
    );
  });
}

/** Maps an execFile failure to KS_BMC_FAILED with a message and a fix; the password is scrubbed. */
export function ipmitoolFailure(
  err: ExecFileException,
  stderr: string,
  t: IpmitoolTarget,
  op: string,
  timeoutMs: number,
): KickstandError {
  const where = `${t.endpoint.host}:${t.endpoint.port}`;
  if (err.code === 'ENOENT') {
    return new KickstandError(ErrorCode.BMC_FAILED, 'ipmitool is not installed', {
      fix: 'install the ipmitool package (Debian: apt-get install ipmitool)',
      cause: err,
    });
  }
  if (err.killed === true || err.signal === 'SIGKILL') {
    return new KickstandError(ErrorCode.BMC_FAILED, `ipmitool "${op}" to ${where} timed out after ${timeoutMs} ms`, {
      fix: 'check that the BMC address is reachable over UDP and IPMI over LAN is enabled',
    });
  }
  const detail = summarize(redactSecrets(stderr, [t.password]));
  const auth = /RMCP\+ session|RAKP|unauthorized|password|user name/i.test(detail);
  const priv = /privilege/i.test(detail);
  const fix = priv
    ? 'give the BMC account Operator (or Administrator) privilege'
    : auth
      ? 'check the BMC address, user name and password, and that IPMI over LAN (RMCP+) is enabled'
      : 'run the same command with ipmitool -I lanplus by hand to see the BMC response';
  return new KickstandError(
    ErrorCode.BMC_FAILED,
    `ipmitool "${op}" to ${where} failed: ${detail || `exit ${String(err.code)}`}`,
    { fix },
  );
}

/** The informative stderr lines, joined, at most 300 characters. */
function summarize(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    // ipmitool's probes that BMCs often refuse: not the cause of a failure.
    .filter(
      (l) => l.length > 0 && !/^Unable to Get Channel Cipher Suites$|^Get HPM\.x Capabilities request failed/.test(l),
    );
  const text = lines.join('; ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}
