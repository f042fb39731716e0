/**
 * @module model/ssh-key
 * OpenSSH public keys as they arrive from a %post callback (the contents of
 * /etc/ssh/ssh_host_*_key.pub) or from operator vars: one key per line, `TYPE BASE64 [COMMENT]`
 * (sshd(8) AUTHORIZED_KEYS FILE FORMAT, without options). Each key is decoded (ssh2's parser
 * checks the wire blob and that its embedded type matches) and normalised to
 * `TYPE BASE64 [COMMENT]` with a printable, bounded comment (reliability I04).
 */
import { utils, type ParsedKey as Ssh2Key } from 'ssh2';
import { ErrorCode, KickstandError } from '../errors';

export const KEY_TYPES: ReadonlySet<string> = new Set([
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);
export const MAX_KEYS = 16;

export type ParsedKey = { ok: true; key: string; type: string } | { ok: false; reason: string };

// ssh2's parser costs ~70 µs a key; renders see the same few keys again and again.
const memo = new Map<string, ParsedKey>();
const MEMO_MAX = 1024;

/** Parses one public key line; returns the normalised line or a reason it is not one. */
export function parsePublicKey(line: string): ParsedKey {
  const hit = memo.get(line);
  if (hit !== undefined) return hit;
  const r = parseUncached(line);
  if (memo.size >= MEMO_MAX) memo.clear();
  memo.set(line, r);
  return r;
}

function parseUncached(line: string): ParsedKey {
  const m = /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?: (.*))?$/.exec(line.trim());
  if (!m) return { ok: false, reason: 'not "TYPE BASE64 [COMMENT]"' };
  const [, type, b64, comment] = m as unknown as [string, string, string, string | undefined];
  if (!KEY_TYPES.has(type)) return { ok: false, reason: `key type ${type.slice(0, 40)} is not accepted` };
  if (b64.length > 2048) return { ok: false, reason: 'key blob too long' };
  // ssh2's typings say one key; its parsers may also return an array of keys.
  const parsed = utils.parseKey(`${type} ${b64}`) as Ssh2Key | Ssh2Key[] | Error;
  if (parsed instanceof Error) return { ok: false, reason: `${type} key does not decode (${parsed.message})` };
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key.type !== type)
    return { ok: false, reason: `blob is a ${key?.type ?? 'unknown'} key, line says ${type}` };
  // Comments are free text: keep printable ASCII only, bounded (they end up in logs and files).
  const c = (comment ?? '')
    .replace(/[^\x21-\x7e ]/g, '')
    .replace(/["'\\`$]/g, '')
    .trim()
    .slice(0, 100);
  return { ok: true, key: c ? `${type} ${b64} ${c}` : `${type} ${b64}`, type };
}

/**
 * Parses a body of host keys (one per line; blank lines and `#` comments ignored). Refuses the
 * whole body if any line is not a key, if there are more than {@link MAX_KEYS}, or if there is
 * no ed25519 key (the bootstrapper pins ed25519).
 */
export function parseHostKeys(text: string, field = 'body'): string[] {
  const keys: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!.trim();
    if (l === '' || l.startsWith('#')) continue;
    const r = parsePublicKey(l);
    if (!r.ok)
      throw new KickstandError(ErrorCode.INVALID_INPUT, `line ${i + 1} is not an OpenSSH public key: ${r.reason}`, {
        field,
        fix: 'send the contents of /etc/ssh/ssh_host_*_key.pub',
      });
    if (!keys.includes(r.key)) keys.push(r.key);
    if (keys.length > MAX_KEYS)
      throw new KickstandError(ErrorCode.INVALID_INPUT, `more than ${MAX_KEYS} host keys`, {
        field,
        fix: 'send only the host keys',
      });
  }
  if (!keys.some((k) => k.startsWith('ssh-ed25519 '))) {
    throw new KickstandError(ErrorCode.INVALID_INPUT, 'no ssh-ed25519 host key in the callback', {
      field,
      fix: 'run `ssh-keygen -A` in %post and send /etc/ssh/ssh_host_ed25519_key.pub',
    });
  }
  return keys;
}

/** Operator keys from a var: `;`-separated OpenSSH public keys, each validated. */
export function parseAuthorizedKeys(value: string, field: string): string[] {
  const out: string[] = [];
  for (const part of value.split(';')) {
    if (part.trim() === '') continue;
    const r = parsePublicKey(part);
    if (!r.ok)
      throw new KickstandError(
        ErrorCode.INVALID_VAR,
        `${field} holds something that is not an OpenSSH public key: ${r.reason}`,
        { field, fix: 'separate keys with ";", each "ssh-ed25519 AAAA… comment"' },
      );
    out.push(r.key);
  }
  return out;
}
