/**
 * @module bootstrap/ssh
 * One SSH session to a node with the host key pinned. The pins are the OpenSSH public host
 * keys the node reported in its authenticated %post callback (reliability.md S01/S02): ssh2
 * accepts any host key unless `hostVerifier` says otherwise, so the verifier compares the raw
 * key blob with the pins and refuses everything else. The host-key algorithm is pinned too
 * (deps.md §5: a server with several host keys presents whichever one is negotiated), and KEX
 * and ciphers are limited to modern ones (no SHA-1, no CBC; ssh2 ≥ 1.15 negotiates strict KEX
 * against Terrapin, CVE-2023-48795). `readyTimeout` bounds the handshake; each exec has its own
 * deadline and output cap (S05: readyTimeout does not cover exec). No secret is sent before
 * `ready`, so a refused key means zero bytes of secrets on the wire.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { ErrorCode, KickstandError } from '../errors';

export interface PinnedKey {
  type: string;
  blob: Buffer;
}

export interface SshTarget {
  /** Host name in the registry (messages only). */
  name: string;
  address: string;
  port: number;
  user: string;
}

export interface SshOptions {
  privateKey: string;
  /** `ssh-ed25519 AAAA… [comment]` lines; at least one. */
  hostKeys: readonly string[];
  readyTimeoutMs: number;
  /**
   * Connection factory (tests: a unix socket forwarded into the nodes' namespace). Default: ssh2
   * dials TCP to address:port itself.
   */
  connect?: SocketFactory;
}

export type SocketFactory = (address: string, port: number) => Duplex;

export interface ExecOptions {
  /** Written to the command's stdin, then EOF (secrets travel here, never on argv). */
  stdin?: string;
  timeoutMs: number;
  /** Called with each chunk of stdout/stderr as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Bytes kept of stdout (and of stderr); the rest is dropped. Default 1 MiB. */
  maxOutput?: number;
}

export interface ExecResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/;

/** Parses OpenSSH public key lines; an unparseable line is an error, not skipped. */
export function parsePins(lines: readonly string[]): PinnedKey[] {
  return lines.map((line, i) => {
    const m = KEY_LINE.exec(line.trim());
    if (!m) {
      throw new KickstandError(ErrorCode.HOST_KEY_MISMATCH, `pinned host key #${i} is not an OpenSSH public key line`, {
        field: `sshHostKeys[${i}]`,
      });
    }
    return { type: m[1]!, blob: Buffer.from(m[2]!, 'base64') };
  });
}

/**
 * The pins of host `name`, parsed: no pin means no connection (no trust on first use,
 * docs/bootstrap.md "Trust chain"), before anything is sent or even resolved.
 */
export function pinnedKeys(name: string, lines: readonly string[]): PinnedKey[] {
  if (lines.length === 0) {
    throw new KickstandError(
      ErrorCode.HOST_KEY_MISMATCH,
      `no SSH host key is pinned for ${name}: refusing to connect (no trust on first use); nothing was sent`,
      {
        fix: 'reinstall the host so that its %post callback reports its SSH host keys',
      },
    );
  }
  return parsePins(lines);
}

/** `SHA256:…` as printed by `ssh-keygen -l` (unpadded base64 of the SHA-256 of the blob). */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Host-key algorithms to offer for the pinned key types (RSA only with SHA-2, RFC 8332). */
export function hostKeyAlgorithms(pins: readonly PinnedKey[]): string[] {
  const out: string[] = [];
  for (const p of pins) {
    const algs = p.type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256'] : [p.type];
    for (const a of algs) if (!out.includes(a)) out.push(a);
  }
  return out.sort((a, b) => rank(a) - rank(b));
}

function rank(alg: string): number {
  return alg === 'ssh-ed25519' ? 0 : alg.startsWith('ecdsa') ? 1 : 2;
}

const KEX = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384'];
const CIPHERS = [
  'aes128-gcm@openssh.com',
  'aes256-gcm@openssh.com',
  'chacha20-poly1305@openssh.com',
  'aes128-ctr',
  'aes256-ctr',
];
const MACS = ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'];

/** An open, authenticated session. Close it when done; exec may be called many times. */
export class SshSession {
  private closed = false;

  private constructor(
    private readonly client: Client,
    readonly target: SshTarget,
    readonly hostKey: string,
  ) {
    client.on('close', () => (this.closed = true));
  }

  /** Connects, verifies the host key against the pins, authenticates with the bootstrap key. */
  static async open(target: SshTarget, opts: SshOptions): Promise<SshSession> {
    const pins = pinnedKeys(target.name, opts.hostKeys);
    const client = new Client();
    let presented: { type: string; fp: string } | undefined;
    const cfg: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: target.user,
      privateKey: opts.privateKey,
      readyTimeout: opts.readyTimeoutMs,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 3,
      algorithms: {
        serverHostKey: hostKeyAlgorithms(pins) as never,
        kex: KEX as never,
        cipher: CIPHERS as never,
        hmac: MACS as never,
        compress: ['none'],
      },
      hostVerifier: (key: Buffer): boolean => {
        presented = { type: keyType(key), fp: fingerprint(key) };
        return pins.some((p) => p.blob.equals(key));
      },
    };
    if (opts.connect) cfg.sock = opts.connect(target.address, target.port);
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (e: Error & { level?: string }) => {
        if (settled) return;
        settled = true;
        client.end();
        reject(connectError(target, e, presented, pins));
      };
      client.once('ready', () => {
        settled = true;
        resolve(new SshSession(client, target, `${presented?.type} ${presented?.fp}`));
      });
      // A persistent handler: ssh2 may emit 'error' again (or after ready, e.g. a reset), and an
      // 'error' without a listener would crash the daemon. After settling, a late error only
      // closes the session; the pending exec sees 'close'.
      client.on('error', (e) => (settled ? client.end() : fail(e)));
      client.once('close', () => fail(new Error('connection closed during the handshake')));
      try {
        client.connect(cfg);
      } catch (e) {
        fail(e as Error);
      }
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  exec(command: string, opts: ExecOptions): Promise<ExecResult> {
    const max = opts.maxOutput ?? 1 << 20;
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(this.err(`connection to ${this.target.name} is closed`));
      this.client.exec(command, (err, ch) => {
        if (err) return reject(this.err(`exec on ${this.target.name} failed: ${err.message}`, err));
        collect(ch, opts, max, this.target.name, resolve, (e) => {
          // A command that overran its deadline may hold the channel forever: drop the connection.
          this.close();
          reject(e);
        });
      });
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end();
  }

  private err(message: string, cause?: unknown): KickstandError {
    return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, message, { cause });
  }
}

function collect(
  ch: ClientChannel,
  opts: ExecOptions,
  max: number,
  name: string,
  resolve: (r: ExecResult) => void,
  reject: (e: Error) => void,
): void {
  const out = { stdout: '', stderr: '' };
  let code: number | null = null;
  let signal: string | null = null;
  const timer = setTimeout(() => {
    reject(
      new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `command on ${name} did not finish within ${opts.timeoutMs} ms`),
    );
  }, opts.timeoutMs);
  const on = (stream: 'stdout' | 'stderr') => (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    if (out[stream].length < max) out[stream] += text.slice(0, max - out[stream].length);
    opts.onOutput?.(stream, text);
  };
  ch.on('data', on('stdout'));
  ch.stderr.on('data', on('stderr'));
  ch.on('exit', (c: number | null, s?: string) => {
    code = c;
    signal = s ?? null;
  });
  ch.on('close', () => {
    clearTimeout(timer);
    resolve({ code, signal, ...out });
  });
  ch.end(opts.stdin ?? '');
}

function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + Math.min(n, 64)).toString('latin1');
}

function connectError(
  t: SshTarget,
  e: Error & { level?: string },
  presented: { type: string; fp: string } | undefined,
  pins: PinnedKey[],
): KickstandError {
  const where = `${t.name} (${t.address}:${t.port})`;
  if (presented && !pins.some((p) => fingerprint(p.blob) === presented.fp)) {
    return new KickstandError(
      ErrorCode.HOST_KEY_MISMATCH,
      `host key mismatch for ${where}: it presented ${presented.type} ${presented.fp}, pinned ${pins.map((p) => `${p.type} ${fingerprint(p.blob)}`).join(', ')}; nothing was sent`,
      {
        fix: 'if the host was reinstalled, reimage it through Kickstand so the %post callback pins its new key; otherwise treat this as an impostor',
        cause: e,
      },
    );
  }
  if (e.level === 'client-authentication') {
    return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `${where} refused Kickstand's bootstrap key`, {
      fix: "check that the kickstart authorized Kickstand's public key (bootstrap_ed25519.pub in the state dir) for the ssh user",
      cause: e,
    });
  }
  return new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `cannot reach ${where} over SSH: ${e.message}`, { cause: e });
}
