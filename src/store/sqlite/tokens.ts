/**
 * @module store/sqlite/tokens
 * One-time install tokens. Issuing a token revokes the host's earlier live ones in the same
 * transaction, so a host never has two valid kickstart URLs.
 */
import type { InstallToken } from '../../model/token';
import { toToken, type TokenRow } from '../rows';
import type { NewEvent } from '../../model/event';
import type { ClaimedFetch, FetchClaim, TokenRepo } from '../store';
import type { Db, GroupCommitter } from './database';
import { newEvent } from '../rows';
import type { SqliteEvents } from './events';

export class SqliteTokens implements TokenRepo {
  private readonly q;

  constructor(
    db: Db,
    private readonly writer: GroupCommitter,
    private readonly events: SqliteEvents,
  ) {
    this.q = {
      get: db.prepare('SELECT * FROM install_tokens WHERE token = ?'),
      live: db.prepare(
        'SELECT * FROM install_tokens WHERE host = ? AND revoked_at IS NULL ORDER BY issued_at DESC LIMIT 1',
      ),
      revoke: db.prepare('UPDATE install_tokens SET revoked_at = ? WHERE host = ? AND revoked_at IS NULL'),
      insert: db.prepare('INSERT INTO install_tokens (token, host, issued_at, expires_at) VALUES (?, ?, ?, ?)'),
      fetched: db.prepare('UPDATE install_tokens SET fetched_at = ? WHERE token = ? AND fetched_at IS NULL'),
    };
  }

  issue(t: Omit<InstallToken, 'fetchedAt' | 'revokedAt'>): Promise<InstallToken> {
    return this.writer.write(() => {
      this.q.revoke.run(t.issuedAt, t.host);
      this.q.insert.run(t.token, t.host, t.issuedAt, t.expiresAt);
      return { ...t, fetchedAt: null, revokedAt: null };
    });
  }

  async get(token: string): Promise<InstallToken | undefined> {
    const r = this.q.get.get(token) as TokenRow | undefined;
    return r && toToken(r);
  }

  async liveFor(host: string): Promise<InstallToken | undefined> {
    const r = this.q.live.get(host) as TokenRow | undefined;
    return r && toToken(r);
  }

  markFetched(token: string, at: number): Promise<InstallToken | undefined> {
    return this.writer.write(() => {
      this.q.fetched.run(at, token);
      const r = this.q.get.get(token) as TokenRow | undefined;
      return r && toToken(r);
    });
  }

  claimFetch(token: string, at: number): Promise<boolean> {
    return this.writer.write(() => this.q.fetched.run(at, token).changes === 1);
  }

  claimFetchWithEvent(token: string, at: number, event: (claim: FetchClaim) => NewEvent): Promise<ClaimedFetch> {
    return this.writer.write(() => {
      const first = this.q.fetched.run(at, token).changes === 1;
      const r = this.q.get.get(token) as TokenRow | undefined;
      const claim = { first, fetchedAt: r?.fetched_at ?? null };
      return { claim, event: this.events.insertNow(newEvent(event(claim))) };
    });
  }

  revokeFor(host: string, at: number): Promise<void> {
    return this.writer.write(() => {
      this.q.revoke.run(at, host);
    });
  }
}
