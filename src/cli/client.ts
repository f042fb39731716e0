/**
 * @module cli/client
 * The CLI's JSON client for the daemon's /api/v1, on the API listener (`api.listen`, never the
 * machine listener). Server: --server, then KICKSTAND_URL, then the config's api.listen, then
 * http://127.0.0.1:8081; `unix:/path` for a socket. Token: --token, then KICKSTAND_TOKEN, then
 * the token file in the state dir (--state-dir or the config's stateDir / api.tokenFile). TLS
 * pin: --ca, then KICKSTAND_CA (a fingerprint, or a PEM certificate file), then the config's
 * api.tls.cert when readable (cli/transport.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { certFingerprint, normalizeFingerprint } from '../auth/tls-cert';
import { ErrorCode, KickstandError, type ErrorCode as Code, type ErrorDetail } from '../errors';
import { exchange, readText, type Endpoint } from './transport';

export interface ClientOptions {
  server?: string;
  token?: string;
  stateDir?: string;
  tokenFile?: string;
  /** A fingerprint or a PEM file (--ca). */
  ca?: string;
}

export const DEFAULT_SERVER = 'http://127.0.0.1:8081';
export const DEFAULT_STATE_DIR = '/var/lib/kickstand';

export class ApiClient {
  readonly base: string;
  private readonly token: string;
  private readonly endpoint: Endpoint;

  constructor(opts: ClientOptions, env: NodeJS.ProcessEnv = process.env) {
    this.base = (opts.server ?? env.KICKSTAND_URL ?? DEFAULT_SERVER).replace(/\/+$/, '');
    const ca = opts.ca ?? env.KICKSTAND_CA;
    this.endpoint = { server: this.base, pin: ca === undefined || ca === '' ? undefined : readPin(ca) };
    this.token = opts.token ?? env.KICKSTAND_TOKEN ?? readToken(opts);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let status: number;
    let text: string;
    try {
      const res = await exchange(this.endpoint, {
        method,
        path: `/api/v1${path}`,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: 30_000,
      });
      status = res.statusCode ?? 0;
      text = await readText(res);
    } catch (e) {
      throw this.unreachable(e);
    }
    if (status === 204) return undefined as T;
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new KickstandError(ErrorCode.INTERNAL, `unexpected reply from ${this.base} (HTTP ${status}): not JSON`, {
        fix: 'is --server / KICKSTAND_URL the API listener (api.listen), not the machine listener (http.listen)?',
      });
    }
    if (status < 200 || status >= 300) throw errorFrom(json, status);
    return json as T;
  }

  /** Opens a streaming GET (server-sent events) and yields each frame's event name and parsed data. */
  async *stream<T>(path: string, signal?: AbortSignal): AsyncGenerator<{ event: string; data: T }> {
    let res;
    try {
      res = await exchange(this.endpoint, {
        method: 'GET',
        path: `/api/v1${path}`,
        headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
        signal,
      });
    } catch (e) {
      throw this.unreachable(e);
    }
    if (res.statusCode !== 200) {
      const text = await readText(res).catch(() => '');
      let json: unknown = {};
      try {
        json = JSON.parse(text);
      } catch {
        /* not JSON: the status says it */
      }
      throw errorFrom(json, res.statusCode ?? 0);
    }
    res.setEncoding('utf8');
    let buf = '';
    try {
      for await (const chunk of res) {
        buf += chunk as string;
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
    } catch (e) {
      if (signal?.aborted) return;
      throw e;
    }
  }

  private unreachable(e: unknown): KickstandError {
    if (e instanceof KickstandError) return e;
    if ((e as Error).name === 'AbortError') return new KickstandError(ErrorCode.UNAVAILABLE, 'request aborted');
    const code = (e as NodeJS.ErrnoException).code;
    const tls = code !== undefined && /CERT|SSL|TLS|SELF_SIGNED/.test(code);
    return new KickstandError(
      ErrorCode.UNAVAILABLE,
      `cannot reach the Kickstand daemon at ${this.base} (${code ?? (e as Error).message})`,
      {
        fix: tls
          ? 'pin the API certificate: --ca FINGERPRINT or KICKSTAND_CA (printed by `kickstand api cert` on the daemon host)'
          : 'start it with `kickstand serve --config /etc/kickstand/kickstand.yaml` (or `systemctl start kickstand`), or point --server / KICKSTAND_URL at its api.listen',
        cause: e,
      },
    );
  }
}

function errorFrom(json: unknown, status: number): KickstandError {
  const e = (json ?? {}) as { code?: Code; message?: string; field?: string; fix?: string; details?: ErrorDetail[] };
  return new KickstandError(e.code ?? ErrorCode.INTERNAL, e.message ?? `HTTP ${status}`, {
    field: e.field,
    fix: e.fix,
    details: e.details,
  });
}

/** `--ca` / KICKSTAND_CA: a fingerprint, or a PEM certificate file whose fingerprint is pinned. */
export function readPin(ca: string): string {
  const fp = normalizeFingerprint(ca);
  if (fp !== null) return fp;
  try {
    return certFingerprint(readFileSync(ca)).slice('sha256:'.length);
  } catch (e) {
    throw new KickstandError(
      ErrorCode.INVALID_INPUT,
      `--ca ${ca} is neither a SHA-256 fingerprint nor a readable PEM certificate`,
      {
        field: '--ca',
        fix: 'pass the fingerprint `kickstand api cert` printed (sha256:AB:CD:…), or the certificate file',
        cause: e,
      },
    );
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
