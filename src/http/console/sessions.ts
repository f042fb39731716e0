/**
 * @module http/console/sessions
 * The web console's login sessions (docs/console.md), in memory: a daemon restart logs every
 * browser out. A session keeps the token it was opened with and checks it again on every
 * request, so a revoked token ends its sessions at once and the scope is always the token's.
 * Each session has its own CSRF token, required on every write (OWASP CSRF cheat sheet,
 * "synchronizer token pattern"; docs/console.md, "CSRF").
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../auth/tokens';

/** A token → its principal, or null (http/auth.ts's Authenticator; repeated to keep imports one-way). */
interface Authenticator {
  authenticate(presented: string): Principal | null;
}

export const SESSION_COOKIE = 'ks_session';
/** Idle sessions expire after this long. */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** At most this many sessions are kept; the least recently used is dropped first. */
const MAX_SESSIONS = 1000;

interface Session {
  token: string;
  csrf: string;
  seenAt: number;
}

export interface SessionView extends Principal {
  csrf: string;
}

const random = (): string => randomBytes(32).toString('base64url');

export class ConsoleSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly tokens: Authenticator,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session for a valid token: its id (the cookie) and view; null for a bad token. */
  open(token: string): { id: string; view: SessionView } | null {
    let who: Principal | null = null;
    try {
      who = this.tokens.authenticate(token);
    } catch {
      who = null;
    }
    if (who === null) return null;
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    const id = random();
    const s: Session = { token, csrf: random(), seenAt: this.now() };
    this.sessions.set(id, s);
    return { id, view: { ...who, csrf: s.csrf } };
  }

  /** The session's principal and CSRF token, or null (unknown, expired, or token revoked). */
  lookup(id: string | undefined): SessionView | null {
    if (id === undefined) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (this.now() - s.seenAt > SESSION_IDLE_MS) {
      this.sessions.delete(id);
      return null;
    }
    let who: Principal | null = null;
    try {
      who = this.tokens.authenticate(s.token);
    } catch {
      who = null;
    }
    if (who === null) {
      this.sessions.delete(id);
      return null;
    }
    s.seenAt = this.now();
    this.sessions.delete(id); // re-insert: the map's order is least recently used first
    this.sessions.set(id, s);
    return { ...who, csrf: s.csrf };
  }

  close(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }
}

/** True when `presented` is the session's CSRF token (constant time). */
export function csrfMatches(view: SessionView, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(view.csrf);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of cookie `name` in a Cookie header (RFC 6265 §5.4), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
