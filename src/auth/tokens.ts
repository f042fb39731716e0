/**
 * @module auth/tokens
 * The operator API's tokens and their scopes (docs/api.md, "Tokens and scopes"):
 *   admin  everything;
 *   read   GET and HEAD only (list, show, events, watch, render with secrets masked, metrics).
 * The first admin token is the file `api.tokenFile` (<stateDir>/api-token), made at first
 * start; it is listed as `api-token` and cannot be revoked through the API (delete the file and
 * restart to replace it). Tokens made with `kickstand token create` live in
 * <stateDir>/tokens.json (0600) as SHA-256 hashes only: the secret is shown once, at creation.
 * A plain hash (not a password KDF) is enough because every token is 256 random bits.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ErrorCode, KickstandError, invalid } from '../errors';
import { generateToken } from './api-token';

export const SCOPES = ['admin', 'read'] as const;
export type Scope = (typeof SCOPES)[number];

/** Who made a request: the token's name and scope (never the token itself). */
export interface Principal {
  name: string;
  scope: Scope;
}

export interface TokenInfo {
  name: string;
  scope: Scope;
  createdAt: string;
  /** The token that created this one (audit). */
  createdBy: string;
  /** True for the api-token file (not revocable through the API). */
  builtIn?: boolean;
}

interface TokenRecord extends TokenInfo {
  /** Hex SHA-256 of the token. */
  hash: string;
}

export const BUILT_IN_NAME = 'api-token';
const NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/;

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

export class ApiTokens {
  private records: TokenRecord[];
  private readonly builtIn: Buffer;

  /**
   * @param builtInToken the api-token file's token (admin)
   * @param file tokens.json, or null to keep created tokens in memory only (tests)
   */
  constructor(
    builtInToken: string,
    private readonly file: string | null,
  ) {
    this.builtIn = sha256(builtInToken);
    this.records = file !== null && existsSync(file) ? readTokenFile(file) : [];
  }

  /** The principal `presented` belongs to, or null. Compares hashes in constant time. */
  authenticate(presented: string): Principal | null {
    const h = sha256(presented);
    if (timingSafeEqual(h, this.builtIn)) return { name: BUILT_IN_NAME, scope: 'admin' };
    let found: TokenRecord | undefined;
    for (const r of this.records) if (timingSafeEqual(Buffer.from(r.hash, 'hex'), h)) found = r; // no early exit
    return found ? { name: found.name, scope: found.scope } : null;
  }

  list(): TokenInfo[] {
    return [
      { name: BUILT_IN_NAME, scope: 'admin', createdAt: '', createdBy: '', builtIn: true },
      ...this.records.map(({ hash: _hash, ...info }) => info),
    ];
  }

  /** Makes a token; returns it in clear text (the only time it exists outside the caller). */
  create(name: unknown, scope: unknown, createdBy: string): { token: string; info: TokenInfo } {
    if (typeof name !== 'string' || !NAME.test(name) || name === BUILT_IN_NAME)
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'name',
        `token name ${JSON.stringify(name)} is not valid`,
        `use 1-63 of a-z 0-9 _ . - starting with a letter or digit (not "${BUILT_IN_NAME}"), e.g. grafana`,
      );
    if (!SCOPES.includes(scope as Scope))
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'scope',
        `unknown scope ${JSON.stringify(scope)}`,
        `use one of: ${SCOPES.join(', ')}`,
      );
    if (this.records.some((r) => r.name === name))
      throw new KickstandError(ErrorCode.CONFLICT, `a token named ${name} exists`, {
        field: 'name',
        fix: `revoke it first (kickstand token revoke ${name}) or pick another name`,
      });
    const token = generateToken();
    const rec: TokenRecord = {
      name,
      scope: scope as Scope,
      createdAt: new Date().toISOString(),
      createdBy,
      hash: sha256(token).toString('hex'),
    };
    this.save([...this.records, rec]);
    const { hash: _hash, ...info } = rec;
    return { token, info };
  }

  /** Removes a token; false when there is none by that name. */
  revoke(name: string): boolean {
    if (name === BUILT_IN_NAME)
      throw invalid(
        ErrorCode.INVALID_INPUT,
        'name',
        `${BUILT_IN_NAME} is the token file and cannot be revoked through the API`,
        'delete <stateDir>/api-token and restart the daemon: a new one is generated',
      );
    const next = this.records.filter((r) => r.name !== name);
    if (next.length === this.records.length) return false;
    this.save(next);
    return true;
  }

  private save(next: TokenRecord[]): void {
    if (this.file !== null) {
      const tmp = `${this.file}.tmp`;
      writeFileSync(tmp, JSON.stringify({ version: 1, tokens: next }, null, 2) + '\n', { mode: 0o600 });
      renameSync(tmp, this.file); // atomic: a crash leaves the old list or the new one
    }
    this.records = next;
  }
}

function readTokenFile(file: string): TokenRecord[] {
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { version?: number; tokens?: TokenRecord[] };
    if (doc.version !== 1 || !Array.isArray(doc.tokens)) throw new Error('not a version 1 token list');
    for (const t of doc.tokens)
      if (!NAME.test(t.name) || !SCOPES.includes(t.scope) || !/^[0-9a-f]{64}$/.test(t.hash))
        throw new Error(`bad entry ${JSON.stringify(t.name)}`);
    return doc.tokens;
  } catch (e) {
    throw new KickstandError(ErrorCode.CONFIG_INVALID, `cannot read the token list ${file}: ${(e as Error).message}`, {
      fix: `restore ${file} from a backup, or delete it (every token made with \`kickstand token create\` is then revoked)`,
      cause: e,
    });
  }
}
