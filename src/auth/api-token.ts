/**
 * @module auth/api-token
 * The operator API's bearer token: generated at first start (256 random bits, base64url) into
 * a file of mode 0600 in the state directory; compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, KickstandError } from '../errors';

export function generateToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Reads the token file, creating it (0600, parent 0700) with a fresh token when absent. */
export function ensureTokenFile(file: string): string {
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, generateToken() + '\n', { mode: 0o600, flag: 'wx' });
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(file, 0o600); // never leave a token readable by others
  const token = readFileSync(file, 'utf8').trim();
  if (token.length < 16) {
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `API token in ${file} is shorter than 16 characters`, {
      field: 'api.tokenFile',
      fix: `delete ${file} to have a new one generated at start`,
    });
  }
  return token;
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
