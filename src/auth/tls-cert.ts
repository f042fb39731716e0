/**
 * @module auth/tls-cert
 * The API listener's TLS pair: a self-signed certificate (ECDSA P-256, made by Debian's
 * `openssl req -x509`) and its SHA-256 fingerprint, which the CLI pins (`--ca`,
 * `KICKSTAND_CA`) instead of trusting a CA (docs/api.md, "TLS"). `kickstand api cert` calls
 * {@link generateSelfSigned}; so can `kickstand init`.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIP } from 'node:net';
import { ErrorCode, KickstandError, invalid } from '../errors';

export interface SelfSignedOptions {
  certFile: string;
  keyFile: string;
  /** DNS names and IP addresses the certificate names (subjectAltName). */
  names: string[];
  /** Validity, days (default 825: the longest most clients accept). */
  days?: number;
  /** Replace existing files (default: refuse). */
  force?: boolean;
}

/** Writes a self-signed pair (key 0600) and returns the certificate's fingerprint. */
export function generateSelfSigned(o: SelfSignedOptions): string {
  if (o.names.length === 0)
    throw invalid(ErrorCode.INVALID_INPUT, 'names', 'no name for the certificate', 'pass --name HOST or --ip ADDRESS');
  for (const f of [o.certFile, o.keyFile])
    if (existsSync(f) && !o.force)
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'file',
        `${f} exists`,
        'pass --force to replace it (clients pinned to the old fingerprint will refuse the new one)',
      );
  const san = o.names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  for (const f of [o.certFile, o.keyFile]) mkdirSync(dirname(f), { recursive: true, mode: 0o700 });
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        String(o.days ?? 825),
        '-subj',
        `/CN=${o.names[0]}/O=kickstand`,
        '-addext',
        `subjectAltName=${san}`,
        '-addext',
        'basicConstraints=critical,CA:FALSE',
        '-addext',
        'extendedKeyUsage=serverAuth',
        '-keyout',
        o.keyFile,
        '-out',
        o.certFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
    );
  } catch (e) {
    const stderr = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim();
    throw new KickstandError(ErrorCode.INTERNAL, `openssl could not make the certificate: ${stderr.split('\n')[0]}`, {
      fix: "install Debian's openssl package (apt-get install openssl)",
      cause: e,
    });
  }
  chmodSync(o.keyFile, 0o600);
  chmodSync(o.certFile, 0o644);
  return certFingerprint(readFileSync(o.certFile, 'utf8'));
}

/** `sha256:AB:CD:…` of a PEM certificate (the DER bytes' SHA-256). */
export function certFingerprint(pem: string | Buffer): string {
  return `sha256:${new X509Certificate(pem).fingerprint256}`;
}

/**
 * A pin as the user typed it (`sha256:AB:CD…`, `ab cd…`, plain hex) → `AB:CD:…` (Node's
 * `fingerprint256` form), or null when it is not 32 bytes of hex.
 */
export function normalizeFingerprint(s: string): string | null {
  const hex = s
    .trim()
    .replace(/^sha256:/i, '')
    .replace(/[\s:]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}
