/**
 * @module bootstrap/keys
 * Kickstand's own SSH bootstrap identity: one ed25519 keypair in the state directory
 * (`bootstrap_ed25519`, 0600; `bootstrap_ed25519.pub`, 0644 less the umask), generated on first use. The
 * public half is what the kickstart authorizes for root; the private half never leaves the
 * state directory and is never logged.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { utils, type ParsedKey } from 'ssh2';
import { ErrorCode, KickstandError } from '../errors';

export const KEY_FILE = 'bootstrap_ed25519';

export interface BootstrapKeyPair {
  /** OpenSSH private key (PEM-like `-----BEGIN OPENSSH PRIVATE KEY-----`). Secret. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… kickstand` */
  publicKey: string;
  path: string;
}

/** Loads the keypair, generating it (atomically, 0600) when absent. */
export function ensureBootstrapKey(stateDir: string): BootstrapKeyPair {
  const path = join(stateDir, KEY_FILE);
  if (!existsSync(path)) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const kp = generateEd25519();
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, kp.private, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    writeFileSync(`${path}.pub`, kp.public.trim() + '\n', { mode: 0o644 });
    renameSync(tmp, path);
  }
  return loadBootstrapKey(stateDir);
}

/**
 * ssh2's generateKeyPairSync('ed25519') returns a malformed key about once in 256 calls (a
 * short public blob; parseKey then fails with "Malformed OpenSSH private key"). A state
 * directory holding such a key would fail every bootstrap, so a key is only kept once it
 * parses back to a 32-byte ed25519 public key (51-byte SSH blob).
 */
export function generateEd25519(): { private: string; public: string } {
  for (let i = 0; i < 20; i++) {
    const kp = utils.generateKeyPairSync('ed25519', { comment: 'kickstand-bootstrap' });
    // ssh2's typings say one key, but an OpenSSH private key file parses to an array of keys.
    const parsed = utils.parseKey(kp.private) as ParsedKey | ParsedKey[] | Error;
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key && !(key instanceof Error) && key.getPublicSSH().length === 51) return kp;
  }
  throw new KickstandError(ErrorCode.BOOTSTRAP_FAILED, 'could not generate a valid ed25519 bootstrap key');
}

export function loadBootstrapKey(stateDir: string): BootstrapKeyPair {
  const path = join(stateDir, KEY_FILE);
  let privateKey: string;
  try {
    privateKey = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `cannot read the bootstrap key ${path}`, {
      cause: e,
      fix: 'start the daemon once (it generates the key), or check the state directory permissions',
    });
  }
  const parsed = utils.parseKey(privateKey) as ParsedKey | ParsedKey[] | Error;
  if (parsed instanceof Error) {
    throw new KickstandError(ErrorCode.BOOTSTRAP_FAILED, `the bootstrap key ${path} is not a valid OpenSSH key`, {
      fix: `move ${path} away; a new key is generated at the next start (re-authorize it on the nodes)`,
    });
  }
  const key = Array.isArray(parsed) ? parsed[0]! : parsed;
  const publicKey = `${key.type} ${key.getPublicSSH().toString('base64')} kickstand-bootstrap`;
  return { privateKey, publicKey, path };
}

/** The `ssh-ed25519 AAAA…` line the kickstart puts in root's authorized_keys. */
export function bootstrapPublicKey(stateDir: string): string {
  return ensureBootstrapKey(stateDir).publicKey;
}

/**
 * The public key for every kickstart render, without reading and parsing the private key file
 * each time (a read plus an ssh2 parse per `GET /ks`: bench/RESULTS.md, boot storm profile).
 * The file is re-checked (one stat) at most once per `recheckMs`; a replaced key (new inode,
 * mtime or size) is loaded again, so the kickstart always authorizes the key the bootstrapper
 * uses.
 */
export class BootstrapPublicKey {
  private key: string | null = null;
  private stamp = '';
  private checkedAt = -Infinity;

  constructor(
    private readonly stateDir: () => string,
    private readonly recheckMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  get(): string {
    const t = this.now();
    if (this.key !== null && t - this.checkedAt < this.recheckMs) return this.key;
    this.checkedAt = t;
    const path = join(this.stateDir(), KEY_FILE);
    const st = existsSync(path) ? statSync(path) : null;
    const stamp = st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '';
    if (this.key === null || stamp !== this.stamp) {
      this.key = bootstrapPublicKey(this.stateDir());
      const now = statSync(path);
      this.stamp = `${now.ino}:${now.mtimeMs}:${now.size}`;
    }
    return this.key;
  }
}
