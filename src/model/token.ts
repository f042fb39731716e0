/**
 * @module model/token
 * One-time install tokens: issued when a host is armed, carried in its kickstart URL,
 * authenticating its %pre/%post callbacks; dead once the host reports `installed`.
 */

export interface InstallToken {
  /** Random, URL-safe; a secret (redacted in logs, masked in `host render`). */
  token: string;
  host: string;
  issuedAt: number;
  expiresAt: number;
  /** When the kickstart was first fetched with it (null until then). */
  fetchedAt: number | null;
  /** When it died (installed, re-armed, revoked); null while alive. */
  revokedAt: number | null;
}
