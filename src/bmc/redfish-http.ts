/**
 * @module bmc/redfish-http
 * The Redfish transport: one JSON request over node:https (or node:http for an explicit
 * `http://` emulator address) with HTTP Basic authentication (DSP0266 "HTTP Basic authentication"), a deadline,
 * a response size cap and no redirects (credentials never follow a Location to another origin).
 *
 * Why node:https and not fetch: Node 20's fetch (undici) can only skip certificate checks through
 * an undici `Agent` dispatcher, and the `undici` package is not importable here (only bundled
 * inside Node). node:https takes `rejectUnauthorized` per request, so secure and insecureTls
 * BMCs share one code path, and that path is the one the tests run.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { ErrorCode, KickstandError } from '../errors';
import type { Logger } from '../log';
import type { BmcEndpoint } from './config';

export interface RedfishResponse {
  status: number;
  /** The ETag response header (DSP0266 "ETags"), if any. */
  etag: string | undefined;
  /** Parsed JSON body, or undefined for an empty or non-JSON body. */
  body: unknown;
}

export interface RedfishRequest {
  method: 'GET' | 'PATCH' | 'POST';
  /** An absolute path on the service (`/redfish/v1/...`). */
  path: string;
  body?: unknown;
  ifMatch?: string;
}

export interface RedfishTransportOptions {
  endpoint: BmcEndpoint;
  username: string;
  password: string;
  insecureTls: boolean;
  timeoutMs: number;
  log: Logger;
}

export type RedfishTransport = (req: RedfishRequest) => Promise<RedfishResponse>;

const MAX_BODY = 1024 * 1024;

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function origin(ep: BmcEndpoint): string {
  const host = isIP(ep.host) === 6 ? `[${ep.host}]` : ep.host;
  return `${ep.scheme}://${host}:${ep.port}`;
}

export function createRedfishTransport(opts: RedfishTransportOptions): RedfishTransport {
  const auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  const base = origin(opts.endpoint);
  return (req) => requestOnce(opts, auth, base, req);
}

function requestHeaders(auth: string, req: RedfishRequest, payload: Buffer | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    'OData-Version': '4.0', // DSP0266 "Request headers": OData-Version 4.0
    Authorization: auth,
  };
  if (payload !== undefined) {
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = String(payload.length);
  }
  if (req.ifMatch !== undefined) headers['If-Match'] = req.ifMatch;
  return headers;
}

function openRequest(
  opts: RedfishTransportOptions,
  req: RedfishRequest,
  headers: Record<string, string>,
): http.ClientRequest {
  const common = {
    host: opts.endpoint.host,
    port: opts.endpoint.port,
    path: req.path,
    method: req.method,
    headers,
    agent: false as const,
  };
  if (opts.endpoint.scheme === 'http') return http.request(common);
  return https.request({
    ...common,
    rejectUnauthorized: !opts.insecureTls,
    // SNI only for names (RFC 6066 §3 forbids IP literals in server_name).
    ...(isIP(opts.endpoint.host) === 0 ? { servername: opts.endpoint.host } : {}),
  });
}

/** One request; no redirects followed (a 3xx is returned as is and fails as a non-2xx). */
function requestOnce(
  opts: RedfishTransportOptions,
  auth: string,
  base: string,
  req: RedfishRequest,
): Promise<RedfishResponse> {
  return new Promise<RedfishResponse>((resolve, reject) => {
    const started = Date.now();
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const r = openRequest(opts, req, requestHeaders(auth, req, payload));
    let cutBy: string | undefined;
    const cut = (code: string): void => {
      cutBy = code;
      r.destroy(Object.assign(new Error(code), { code }));
    };
    const timer = setTimeout(() => cut('KS_TIMEOUT'), opts.timeoutMs);
    let settled = false;
    const fail = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      // Whatever error the cut surfaces as (abort, reset), report why we cut.
      const cause = cutBy === undefined ? err : Object.assign(new Error(cutBy), { code: cutBy });
      const e = transportFailure(cause, req, base, opts.timeoutMs);
      opts.log.warn(
        { method: req.method, path: req.path, ms: Date.now() - started, err: e.message },
        'redfish request failed',
      );
      reject(e);
    };
    r.on('error', fail);
    r.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) cut('KS_TOO_BIG');
        else chunks.push(c);
      });
      // A body cut off by the deadline, the size cap or the peer fails the request.
      res.on('error', fail);
      res.on('close', () => {
        if (!res.complete) fail(Object.assign(new Error('response cut off'), { code: cutBy ?? 'ECONNRESET' }));
      });
      res.on('end', () => {
        clearTimeout(timer);
        if (settled) return;
        settled = true;
        const status = res.statusCode ?? 0;
        const etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
        opts.log.debug({ method: req.method, path: req.path, status, ms: Date.now() - started }, 'redfish request');
        resolve({ status, etag, body: parseJson(Buffer.concat(chunks).toString('utf8')) });
      });
    });
    r.end(payload);
  });
}

function parseJson(text: string): unknown {
  if (text.trim().length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function transportFailure(
  err: NodeJS.ErrnoException,
  req: RedfishRequest,
  base: string,
  timeoutMs: number,
): KickstandError {
  const what = `Redfish ${req.method} ${base}${req.path}`;
  const code = err.code ?? '';
  if (code === 'KS_TIMEOUT') {
    return new KickstandError(ErrorCode.BMC_FAILED, `${what} timed out after ${timeoutMs} ms`, {
      fix: 'check that the BMC is reachable on this address and port',
    });
  }
  if (code === 'KS_TOO_BIG') {
    return new KickstandError(ErrorCode.BMC_FAILED, `${what} answered more than ${MAX_BODY} bytes`, {
      fix: 'check that the address is a Redfish service',
    });
  }
  if (TLS_CODES.has(code)) {
    return new KickstandError(ErrorCode.BMC_FAILED, `${what}: the BMC's TLS certificate was not accepted (${code})`, {
      fix: 'install a certificate the daemon trusts on the BMC (or add its CA with NODE_EXTRA_CA_CERTS), or set insecureTls: true for this BMC',
      cause: err,
    });
  }
  return new KickstandError(ErrorCode.BMC_FAILED, `${what} failed: ${code || err.message}`, {
    fix: 'check the BMC address and port, and that its Redfish service is enabled',
    cause: err,
  });
}
