/**
 * @module store/not-found
 * The error every store raises for a host name it does not hold (KS_HOST_NOT_FOUND, HTTP 404),
 * worded the same whichever database is behind the Store.
 */
import { ErrorCode, KickstandError } from '../errors';

export function notFound(name: string): KickstandError {
  return new KickstandError(ErrorCode.HOST_NOT_FOUND, `no host named ${name}`, {
    field: 'name',
    fix: 'list hosts with `kickstand host list`',
  });
}
