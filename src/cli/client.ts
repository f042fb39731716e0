/**
 * @module cli/client
 * The CLI's JSON client for the daemon's /api/v1. Server address: --server, then KICKSTAND_URL,
 * then http://127.0.0.1:8080. Token: --token, then KICKSTAND_TOKEN, then the token file in the
 * state dir (--state-dir or the config's stateDir / api.tokenFile).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, KickstandError, type ErrorCode as Code, type ErrorDetail } from '../errors';

export interface ClientOptions {
  server?: string;
  token?: string;
  stateDir?: string;
  tokenFile?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';
export const DEFAULT_STATE_DIR = '/var/lib/kickstand';

export class ApiClient {
  readonly base: string;
  private readonly token: string;

  constructor(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.base = (opts.server ?? env.KICKSTAND_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
    this.token = opts.token ?? env.KICKSTAND_TOKEN ?? readToken(opts);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new KickstandError(
        ErrorCode.UNAVAILABLE,
        `cannot reach the Kickstand daemon at ${this.base} (${causeOf(e)})`,
        {
          fix: 'start it with `kickstand serve --config /etc/kickstand/kickstand.yaml` (or `systemctl start kickstand`), or point --server / KICKSTAND_URL at it',
          cause: e,
        },
      );
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new KickstandError(ErrorCode.INTERNAL, `unexpected reply from ${this.base} (HTTP ${res.status}): not JSON`);
    }
    if (!res.ok) {
      const e = (json ?? {}) as {
        code?: Code;
        message?: string;
        field?: string;
        fix?: string;
        details?: ErrorDetail[];
      };
      throw new KickstandError(e.code ?? ErrorCode.INTERNAL, e.message ?? `HTTP ${res.status}`, {
        field: e.field,
        fix: e.fix,
        details: e.details,
      });
    }
    return json as T;
  }

  /** Opens a streaming GET (server-sent events) and yields each frame's event name and parsed data. */
  async *stream<T>(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: T }> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
        signal,
      });
    } catch (e) {
      throw new KickstandError(
        ErrorCode.UNAVAILABLE,
        `cannot reach the Kickstand daemon at ${this.base} (${causeOf(e)})`,
        {
          fix: 'start it with `kickstand serve`, or point --server / KICKSTAND_URL at it',
        },
      );
    }
    if (!res.ok || !res.body) {
      const e = (await res.json().catch(() => ({}))) as { code?: Code; message?: string; fix?: string };
      throw new KickstandError(e.code ?? ErrorCode.INTERNAL, e.message ?? `HTTP ${res.status}`, { fix: e.fix });
    }
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const lines = frame.split('\n');
        const data = lines
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
        if (data) yield { event, data: JSON.parse(data) as T };
      }
    }
  }
}

function readToken(opts: ClientOptions): string {
  const file = opts.tokenFile ?? join(opts.stateDir ?? DEFAULT_STATE_DIR, 'api-token');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    throw new KickstandError(
      ErrorCode.UNAUTHORIZED,
      `no API token: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        field: '--token',
        fix: 'pass --token or set KICKSTAND_TOKEN, or --state-dir DIR where the daemon keeps api-token (run as a user who can read it)',
      },
    );
  }
}

function causeOf(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message;
}
