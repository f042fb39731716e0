/**
 * @module errors
 * One catalogue of typed errors with stable codes (fastify `lib/errors.js`, undici
 * `UndiciError`). A code, once published, is never reused for another meaning.
 * Every code is documented in docs/errors.md; test/errors.test.ts keeps the two in step.
 */

/** Stable error codes. The HTTP status each maps to lives in {@link ERROR_STATUS}. */
export const ErrorCode = {
  // input
  INVALID_INPUT: 'KS_INVALID_INPUT',
  INVALID_MAC: 'KS_INVALID_MAC',
  INVALID_IPV4: 'KS_INVALID_IPV4',
  INVALID_HOSTNAME: 'KS_INVALID_HOSTNAME',
  INVALID_VAR: 'KS_INVALID_VAR',
  UNKNOWN_PROFILE: 'KS_UNKNOWN_PROFILE',
  IP_OUTSIDE_SUBNET: 'KS_IP_OUTSIDE_SUBNET',
  IMPORT_INVALID: 'KS_IMPORT_INVALID',
  // registry
  HOST_NOT_FOUND: 'KS_HOST_NOT_FOUND',
  HOST_EXISTS: 'KS_HOST_EXISTS',
  MAC_IN_USE: 'KS_MAC_IN_USE',
  IP_IN_USE: 'KS_IP_IN_USE',
  CONFLICT: 'KS_CONFLICT',
  ILLEGAL_TRANSITION: 'KS_ILLEGAL_TRANSITION',
  // auth
  UNAUTHORIZED: 'KS_UNAUTHORIZED',
  FORBIDDEN: 'KS_FORBIDDEN',
  TOKEN_EXPIRED: 'KS_TOKEN_EXPIRED',
  TLS_PIN_MISMATCH: 'KS_TLS_PIN_MISMATCH',
  NOT_FOUND: 'KS_NOT_FOUND',
  // config and start-up
  CONFIG_INVALID: 'KS_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'KS_CONFIG_UNREADABLE',
  // storage
  STORE_FAILED: 'KS_STORE_FAILED',
  POOL_EXHAUSTED: 'KS_POOL_EXHAUSTED',
  LEASE_TAKEN: 'KS_LEASE_TAKEN',
  // wire protocols
  DECODE_FAILED: 'KS_DECODE_FAILED',
  PATH_REFUSED: 'KS_PATH_REFUSED',
  // templates
  TEMPLATE_MISSING_VAR: 'KS_TEMPLATE_MISSING_VAR',
  TEMPLATE_INVALID: 'KS_TEMPLATE_INVALID',
  // bootstrap / BMC
  HOST_KEY_MISMATCH: 'KS_HOST_KEY_MISMATCH',
  BOOTSTRAP_FAILED: 'KS_BOOTSTRAP_FAILED',
  K3S_NO_SERVER: 'KS_K3S_NO_SERVER',
  K3S_NO_BUNDLE: 'KS_K3S_NO_BUNDLE',
  // images
  BUNDLE_INCOMPLETE: 'KS_BUNDLE_INCOMPLETE',
  CHECKSUM_MISMATCH: 'KS_CHECKSUM_MISMATCH',
  BUNDLE_EXISTS: 'KS_BUNDLE_EXISTS',
  BMC_FAILED: 'KS_BMC_FAILED',
  // backup and restore
  BACKUP_INVALID: 'KS_BACKUP_INVALID',
  STATE_NOT_EMPTY: 'KS_STATE_NOT_EMPTY',
  // secrets at rest
  SECRET_UNREADABLE: 'KS_SECRET_UNREADABLE',
  // generic
  INTERNAL: 'KS_INTERNAL',
  UNAVAILABLE: 'KS_UNAVAILABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for each code: the one mapping, used by http/errors.ts. */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  KS_INVALID_INPUT: 400,
  KS_INVALID_MAC: 400,
  KS_INVALID_IPV4: 400,
  KS_INVALID_HOSTNAME: 400,
  KS_INVALID_VAR: 400,
  KS_UNKNOWN_PROFILE: 400,
  KS_IP_OUTSIDE_SUBNET: 400,
  KS_IMPORT_INVALID: 400,
  KS_HOST_NOT_FOUND: 404,
  KS_HOST_EXISTS: 409,
  KS_MAC_IN_USE: 409,
  KS_IP_IN_USE: 409,
  KS_CONFLICT: 409,
  KS_ILLEGAL_TRANSITION: 409,
  KS_UNAUTHORIZED: 401,
  KS_FORBIDDEN: 403,
  KS_TOKEN_EXPIRED: 410,
  KS_TLS_PIN_MISMATCH: 502,
  KS_NOT_FOUND: 404,
  KS_CONFIG_INVALID: 500,
  KS_CONFIG_UNREADABLE: 500,
  KS_STORE_FAILED: 500,
  KS_LEASE_TAKEN: 409,
  KS_POOL_EXHAUSTED: 503,
  KS_DECODE_FAILED: 400,
  KS_PATH_REFUSED: 403,
  KS_TEMPLATE_MISSING_VAR: 500,
  KS_TEMPLATE_INVALID: 500,
  KS_HOST_KEY_MISMATCH: 502,
  KS_BOOTSTRAP_FAILED: 502,
  KS_K3S_NO_SERVER: 503,
  KS_K3S_NO_BUNDLE: 503,
  KS_BUNDLE_INCOMPLETE: 422,
  KS_CHECKSUM_MISMATCH: 422,
  KS_BUNDLE_EXISTS: 409,
  KS_BMC_FAILED: 502,
  KS_BACKUP_INVALID: 422,
  KS_STATE_NOT_EMPTY: 409,
  KS_SECRET_UNREADABLE: 500,
  KS_INTERNAL: 500,
  KS_UNAVAILABLE: 503,
};

export interface KickstandErrorOptions {
  /** The input field at fault, e.g. `macs[0]` or `network.pool.start`. */
  field?: string;
  /** What the user should do instead, e.g. `use aa:bb:cc:dd:ee:ff`. */
  fix?: string;
  /** One entry per problem when a request holds many items, e.g. the rows of a host import. */
  details?: readonly ErrorDetail[];
  cause?: unknown;
}

/** One problem of a many-item request: where (row, source line, host), which field, and the fix. */
export interface ErrorDetail {
  /** Index of the item in the request (0-based). */
  row: number;
  /** Line in the file the item came from, when the client sent it. */
  line?: number;
  name?: string;
  code: ErrorCode;
  field?: string;
  message: string;
  fix?: string;
}

type ErrorBody = { code: ErrorCode; message: string; field?: string; fix?: string; details?: readonly ErrorDetail[] };

/** Base of every error Kickstand raises on purpose. */
export class KickstandError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  readonly fix: string | undefined;
  readonly details: readonly ErrorDetail[] | undefined;

  constructor(code: ErrorCode, message: string, opts: KickstandErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'KickstandError';
    this.code = code;
    this.field = opts.field;
    this.fix = opts.fix;
    this.details = opts.details;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** The JSON body the API sends: `{code, message, field?, fix?, details?}`. */
  toJSON(): ErrorBody {
    const out: ErrorBody = {
      code: this.code,
      message: this.message,
    };
    if (this.field !== undefined) out.field = this.field;
    if (this.fix !== undefined) out.fix = this.fix;
    if (this.details !== undefined) out.details = this.details;
    return out;
  }
}

export function isKickstandError(e: unknown): e is KickstandError {
  return e instanceof KickstandError;
}

/** Shorthand for the most common case: bad input naming the field and the fix. */
export function invalid(code: ErrorCode, field: string, message: string, fix: string): KickstandError {
  return new KickstandError(code, message, { field, fix });
}
