/**
 * @module http/reply
 * Small bodies written on node:http's own response, for routes that run with or without
 * express (the boot routes' fast path, src/http/server.ts dispatch, and the error replies).
 * The bytes are those express 5's `res.status(s).type(t).set(…).send(text)` writes, so a
 * request answers the same whichever path took it (test/http/boot-fast-path.test.ts compares
 * the two): the same header names and order, `charset=utf-8`, an exact `Content-Length`,
 * no body for HEAD, and express's freshness rule. We set no ETag or Last-Modified, so of that
 * rule only `If-None-Match: *` (without `Cache-Control: no-cache`) makes a 2xx a 304
 * (RFC 9110 §13.1.2: `*` matches any current representation).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

const NO_CACHE = /(?:^|,)\s*?no-cache\s*?(?:,|$)/;

/** express's `req.fresh` for a response without validators. */
function fresh(req: IncomingMessage, status: number): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (!((status >= 200 && status < 300) || status === 304)) return false;
  if (req.headers['if-none-match'] !== '*') return false;
  const cc = req.headers['cache-control'];
  return !(cc !== undefined && NO_CACHE.test(cc));
}

export interface ReplyHeaders {
  /** `text/plain`, `application/json`: `; charset=utf-8` is added. */
  type: string;
  /** Cache-Control, if any. */
  cacheControl?: string;
}

/** Writes `status` with `text` as its body (UTF-8) and ends the response. */
export function reply(req: IncomingMessage, res: ServerResponse, status: number, h: ReplyHeaders, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', `${h.type}; charset=utf-8`);
  if (h.cacheControl !== undefined) res.setHeader('cache-control', h.cacheControl);
  res.setHeader('Content-Length', String(Buffer.byteLength(text)));
  let body = text;
  if (fresh(req, status)) {
    res.statusCode = 304;
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    body = '';
  }
  if (req.method === 'HEAD') res.end();
  else res.end(body, 'utf8');
}

/** A plain-text answer that no cache may keep (boot scripts, kickstarts, refusals). */
export function replyText(req: IncomingMessage, res: ServerResponse, status: number, text: string): void {
  reply(req, res, status, { type: 'text/plain', cacheControl: 'no-store' }, text);
}

/** A JSON answer, as express's `res.status(s).json(body)`. */
export function replyJson(req: IncomingMessage, res: ServerResponse, status: number, body: unknown): void {
  reply(req, res, status, { type: 'application/json' }, JSON.stringify(body));
}
