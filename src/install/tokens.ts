/**
 * @module install/tokens
 * One-time install tokens (reliability I01). Arming a host issues a fresh
 * 256-bit random token (base64url, 43 characters) that lives `install.tokenTtl` seconds and
 * revokes the host's earlier ones. The kickstart URL and the callback URLs carry it in their
 * path (`/ks/<token>`, `/cb/<token>/…`: log.ts redacts both). It dies when the host reports
 * `installed`, is re-armed, or times out.
 */
import { randomBytes } from 'node:crypto';
import type { ArmHook } from '../hosts/registry';
import type { Logger } from '../log';
import type { InstallToken } from '../model/token';
import type { Store } from '../store/store';
import type { AddressBinding } from './binding';

/** 32 random bytes in base64url: exactly 43 characters of [A-Za-z0-9_-]. */
export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export type TokenCheck =
  | { status: 'valid'; token: InstallToken }
  | { status: 'unknown' }
  | { status: 'revoked'; token: InstallToken }
  | { status: 'expired'; token: InstallToken };

export interface InstallTokensDeps {
  store: Store;
  binding: AddressBinding;
  /** Token lifetime in seconds (install.tokenTtl, read live). */
  ttlSeconds: () => number;
  log: Logger;
  now?: () => number;
}

export class InstallTokens {
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly deps: InstallTokensDeps) {
    this.log = deps.log.child({ component: 'install-tokens' });
    this.now = deps.now ?? Date.now;
  }

  /** Issues a new token for `host`, revoking its earlier ones, and resets the address binding. */
  async issue(host: string): Promise<InstallToken> {
    const issuedAt = this.now();
    const t = await this.deps.store.tokens.issue({
      token: newToken(),
      host,
      issuedAt,
      expiresAt: issuedAt + this.deps.ttlSeconds() * 1000,
    });
    await this.deps.binding.reset(host);
    this.log.info({ host, expiresAt: new Date(t.expiresAt).toISOString() }, 'install token issued');
    return t;
  }

  /** The registry hook: every arm issues a token. */
  armHook(): ArmHook {
    return async (host) => {
      await this.issue(host.name);
    };
  }

  /** The host's live, unexpired token, if any. */
  async liveFor(host: string): Promise<InstallToken | undefined> {
    const t = await this.deps.store.tokens.liveFor(host);
    return t && t.expiresAt > this.now() ? t : undefined;
  }

  /** Classifies a presented token string. Malformed strings are `unknown` without a lookup. */
  async check(presented: string): Promise<TokenCheck> {
    if (!TOKEN_SHAPE.test(presented)) return { status: 'unknown' };
    const t = await this.deps.store.tokens.get(presented);
    if (!t) return { status: 'unknown' };
    if (t.revokedAt !== null) return { status: 'revoked', token: t };
    if (t.expiresAt <= this.now()) return { status: 'expired', token: t };
    return { status: 'valid', token: t };
  }

  async revoke(host: string): Promise<void> {
    await this.deps.store.tokens.revokeFor(host, this.now());
    await this.deps.binding.reset(host);
  }

  nowMs(): number {
    return this.now();
  }
}
