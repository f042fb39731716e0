/**
 * @module auth/secret-box
 * Secrets at rest: AES-256-GCM (NIST SP 800-38D) under a key kept in its own file (0600),
 * apart from the database (docs/api.md, "Secrets at rest"). A sealed value is
 *   ks-sealed:v1:<keyId>:<base64url(iv[12] | tag[16] | ciphertext)>
 * and carries the id of its key, so after `kickstand secrets rotate` old and new values open
 * while the values are re-sealed. The associated data names what the value is (e.g.
 * `bmc.password:node1`): a sealed value copied onto another host's row does not open.
 *
 * The key file is JSON `{version: 1, current, keys: {id: base64url(32 bytes)}}`, written
 * atomically (temp file + rename).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, KickstandError } from '../errors';

const PREFIX = 'ks-sealed:v1:';

interface KeyFile {
  version: 1;
  current: string;
  keys: Record<string, string>;
}

export function isSealed(value: string): boolean {
  return value.startsWith(PREFIX);
}

export class SecretBox {
  private doc: KeyFile;

  /** Reads `file`, creating it (0600, one fresh key) when absent. */
  constructor(private readonly file: string) {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      this.doc = { version: 1, current: newKeyId(), keys: {} };
      this.doc.keys[this.doc.current] = randomBytes(32).toString('base64url');
      this.write();
    }
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600); // never readable by others
    this.doc = readKeyFile(file);
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.doc.current;
  }

  /** Ids of every key the file holds. */
  get keyIds(): string[] {
    return Object.keys(this.doc.keys);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key(this.doc.current), iv);
    c.setAAD(Buffer.from(context));
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `${PREFIX}${this.doc.current}:${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
  }

  /** Opens a sealed value; a value that is not sealed (written before sealing existed) is returned as is. */
  open(value: string, context: string): string {
    if (!isSealed(value)) return value;
    const [id, data] = value.slice(PREFIX.length).split(':');
    try {
      const raw = Buffer.from(data ?? '', 'base64url');
      const d = createDecipheriv('aes-256-gcm', this.key(id ?? ''), raw.subarray(0, 12));
      d.setAAD(Buffer.from(context));
      d.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    } catch (e) {
      if (e instanceof KickstandError) throw e;
      throw new KickstandError(
        ErrorCode.SECRET_UNREADABLE,
        `a stored secret (${context.split(':')[0]}) does not open: damaged, or sealed for another row`,
        {
          fix: 'set it again (e.g. kickstand host bmc NAME … --password-file FILE)',
          cause: e,
        },
      );
    }
  }

  /** True when `value` is sealed with the current key. */
  isCurrent(value: string): boolean {
    return value.startsWith(`${PREFIX}${this.doc.current}:`);
  }

  /** Adds a fresh key and makes it current; the old keys stay until {@link dropOldKeys}. */
  addKey(): string {
    const id = newKeyId();
    this.doc = { ...this.doc, current: id, keys: { ...this.doc.keys, [id]: randomBytes(32).toString('base64url') } };
    this.write();
    return id;
  }

  /** Keeps only the current key (after every value was re-sealed with it). */
  dropOldKeys(): string[] {
    const dropped = this.keyIds.filter((k) => k !== this.doc.current);
    this.doc = { ...this.doc, keys: { [this.doc.current]: this.doc.keys[this.doc.current]! } };
    this.write();
    return dropped;
  }

  private key(id: string): Buffer {
    const k = this.doc.keys[id];
    if (k === undefined)
      throw new KickstandError(
        ErrorCode.SECRET_UNREADABLE,
        `a stored secret is sealed with key ${id}, which ${this.file} does not hold`,
        {
          fix: `restore ${this.file} from the backup made with the database, or set the secret again`,
        },
      );
    return Buffer.from(k, 'base64url');
  }

  private write(): void {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.doc, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}

function newKeyId(): string {
  return `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}-${randomBytes(3).toString('hex')}`;
}

function readKeyFile(file: string): KeyFile {
  try {
    const d = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
    if (d.version !== 1 || typeof d.keys !== 'object' || d.keys === null) throw new Error('not a version 1 key file');
    for (const [id, k] of Object.entries(d.keys))
      if (!/^[\w-]+$/.test(id) || Buffer.from(k, 'base64url').length !== 32)
        throw new Error(`key ${id} is not 32 bytes`);
    if (d.keys[d.current] === undefined) throw new Error(`the current key ${d.current} is missing`);
    return d;
  } catch (e) {
    throw new KickstandError(
      ErrorCode.SECRET_UNREADABLE,
      `cannot read the secrets key file ${file}: ${(e as Error).message}`,
      {
        field: 'secrets.keyFile',
        fix: `restore ${file} from its backup; without it the stored BMC passwords cannot be opened (set them again)`,
        cause: e,
      },
    );
  }
}
