/**
 * @module cli/transport
 * One HTTP exchange with the daemon's API listener, over `http://`, `https://` or a unix
 * socket (`unix:/path`). With a pin (`--ca`, `KICKSTAND_CA`: the SHA-256 fingerprint of the
 * API's certificate), the TLS session is checked against it before a byte of the request —
 * and so the token — is written; a mismatch is refused (docs/api.md, "TLS"). Without a pin,
 * https uses the system's CAs.
 */
import {
  request as httpRequest,
  type ClientRequestArgs,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type RequestOptions,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { ErrorCode, KickstandError } from '../errors';

export interface Exchange {
  method: string;
  /** Path and query, e.g. /api/v1/hosts. */
  path: string;
  headers: OutgoingHttpHeaders;
  body?: string;
  /** Whole-exchange timeout; none for streams. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Endpoint {
  /** `http(s)://host:port` or `unix:/path`. */
  server: string;
  /** Pinned certificate fingerprint, `AB:CD:…` (auth/tls-cert normalizeFingerprint). */
  pin?: string;
}

/** Sends the request; resolves with the response (its body unread). */
export function exchange(ep: Endpoint, x: Exchange): Promise<IncomingMessage> {
  const opts: RequestOptions = { method: x.method, headers: x.headers, signal: x.signal, timeout: x.timeoutMs };
  let send = httpRequest;
  if (ep.server.startsWith('unix:')) {
    opts.socketPath = ep.server.slice(5);
    opts.path = x.path;
  } else {
    const u = new URL(ep.server);
    opts.hostname = u.hostname.replace(/^\[|\]$/g, '');
    opts.port = u.port || (u.protocol === 'https:' ? 443 : 80);
    opts.path = u.pathname.replace(/\/+$/, '') + x.path;
    if (u.protocol === 'https:') {
      if (ep.pin !== undefined) opts.createConnection = pinnedConnection(ep.pin, opts.hostname);
      else send = httpsRequest;
    } else if (u.protocol !== 'http:') {
      throw new KickstandError(ErrorCode.INVALID_INPUT, `server ${ep.server} is not http://, https:// or unix:/PATH`, {
        field: '--server',
      });
    }
  }
  // No agent: Node's global agent (keep-alive since Node 19) puts a 5 s timeout on its sockets,
  // which also cut every event stream between two heartbeats (15 s): `watch` and the lab's event
  // follower were aborted every 5 s. One connection per exchange; the only timeout is the
  // exchange's own. (With createConnection, the pinned TLS case, Node uses no agent anyway, and
  // `agent: false` would make it ignore createConnection.)
  if (opts.createConnection === undefined) opts.agent = false;
  return new Promise((resolve, reject) => {
    const req = send(opts, resolve);
    req.once('error', reject);
    req.once('timeout', () => req.destroy(new Error(`no answer in ${(x.timeoutMs ?? 0) / 1000} s`)));
    req.end(x.body);
  });
}

/**
 * A `createConnection` for http.request: TLS, then the peer's certificate compared with the
 * pin before the socket is handed over. The certificate chain is not checked against any CA:
 * the pin is the trust (the certificate is self-signed, `kickstand api cert`).
 */
function pinnedConnection(pin: string, servername: string) {
  return (options: ClientRequestArgs, done: (err: Error | null, socket: Duplex) => void): undefined => {
    const sock = tlsConnect({
      host: options.hostname ?? undefined,
      port: Number(options.port),
      // SNI carries host names only (RFC 6066 §3), never an address.
      servername: /^[\d.]+$|:/.test(servername) ? undefined : servername,
      rejectUnauthorized: false,
    });
    sock.once('error', (e: Error) => done(e, sock));
    sock.once('secureConnect', () => {
      const presented = sock.getPeerCertificate().fingerprint256;
      if (presented === pin) return done(null, sock);
      sock.destroy();
      done(
        new KickstandError(
          ErrorCode.TLS_PIN_MISMATCH,
          `the API's certificate is not the pinned one: it presented sha256:${presented ?? '(none)'}, pinned sha256:${pin}; nothing was sent`,
          {
            field: '--ca',
            fix: "if the daemon's certificate was replaced on purpose, pin the new fingerprint (`kickstand api cert --show` on the daemon host); otherwise something is between you and the daemon",
          },
        ),
        sock,
      );
    });
    return undefined;
  };
}

/** Reads a whole response body as text. */
export async function readText(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let s = '';
  for await (const chunk of res) s += chunk as string;
  return s;
}
