/**
 * @module store/password-file
 * The PostgreSQL password read from `store.passwordFile` (its first line), so it is never in
 * the config file or on a command line: `kickstand serve` (daemon/store.ts) and
 * `kickstand db copy` (cli/commands/db.ts) read it the same way.
 */
import { readFileSync } from 'node:fs';
import { ErrorCode, KickstandError } from '../errors';

export function readPasswordFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new KickstandError(
      ErrorCode.CONFIG_INVALID,
      `cannot read store.passwordFile ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        field: 'store.passwordFile',
        fix: `create ${file} (mode 0600) holding the database password, or set store.passwordFile to the right file`,
        cause: e,
      },
    );
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') {
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `store.passwordFile ${file} is empty`, {
      field: 'store.passwordFile',
      fix: `write the database password on the first line of ${file}`,
    });
  }
  return password;
}
