/**
 * @module http/assets/via-send
 * Requests with preconditions go through send, which evaluates If-Match/If-Unmodified-Since
 * (412) and If-None-Match/If-Modified-Since (304) in RFC 9110 §13.2.2 order, sets
 * Last-Modified, Content-Length and the single-range 206/416. send is given:
 * - only the jail-resolved real path (it follows symlinks out of its root, deps.md §3);
 * - a request view without If-Range (decided in plan.ts with a strong comparison; send's
 *   substring test accepts weak tags) and with Range either absent, one canonical range, or
 *   `bytes=<size>-` (so it answers 416 with `bytes *\/size`);
 * - our strong ETag pre-set on the response (send keeps a pre-set ETag).
 * Its body step, `SendStream#stream(path, {start, end})` (public in @types/send), is replaced
 * per instance: by then send has applied every precondition, so we pump from the cached
 * descriptor with pooled buffers and, for several ranges, write multipart/byteranges, which
 * send cannot produce. Should a future send stop calling `stream`, it serves its own body:
 * still correct (a 200 for several ranges is allowed by §14.2), only slower.
 */
import type { Stats } from 'node:fs';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import send from 'send';
import { newBoundary, planMultipart, type Segment } from './multipart';
import type { AssetFile } from './open-files';
import type { Plan } from './plan';
import { protocolError } from './direct';

function sendHeaders(h: IncomingHttpHeaders, plan: Plan, size: number): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...h };
  delete out.range;
  delete out['if-range'];
  if (plan.kind === 'single') out.range = `bytes=${plan.range.start}-${plan.range.end}`;
  if (plan.kind === 'unsatisfiable') out.range = `bytes=${size}-`;
  return out;
}

function bodySegments(
  res: ServerResponse,
  plan: Plan,
  opts: { start?: number; end?: number },
  f: AssetFile,
  contentType: string,
): readonly Segment[] {
  if (plan.kind === 'multi') {
    const mp = planMultipart(plan.ranges, f.size, contentType, newBoundary());
    res.statusCode = 206;
    res.removeHeader('Content-Range');
    res.setHeader('Content-Type', mp.contentType);
    res.setHeader('Content-Length', mp.length);
    return mp.segments;
  }
  if (Number(res.getHeader('Content-Length')) === 0) return [];
  return [{ start: opts.start ?? 0, end: opts.end ?? f.size - 1 }];
}

/** Hands the request to send; `pump` writes the body segments it is given. */
export function serveViaSend(
  req: { method: string; headers: IncomingHttpHeaders },
  res: ServerResponse,
  realRoot: string,
  f: AssetFile,
  plan: Plan,
  contentType: string,
  pump: (segments: readonly Segment[]) => void,
): void {
  const view = { method: req.method, headers: sendHeaders(req.headers, plan, f.size) };
  const urlPath = '/' + f.rel.split('/').map(encodeURIComponent).join('/');
  const ss = send(view as unknown as Readable, urlPath, { root: realRoot, index: false, dotfiles: 'allow', maxAge: 0 });
  let sendStat: Stats | undefined;
  ss.on('file', (_p: string, st: Stats) => (sendStat = st));
  ss.on('error', (err: { status?: number; headers?: Record<string, string> }) =>
    protocolError(res, err.status ?? 500, err.headers),
  );
  ss.stream = (_path: string, opts: { start?: number; end?: number }) => {
    const same = sendStat !== undefined && BigInt(sendStat.ino) === f.stat.ino && sendStat.size === f.size;
    if (!same) return protocolError(res, 503, { 'Retry-After': '1' }); // replaced since the jail looked
    pump(bodySegments(res, plan, opts, f, contentType));
  };
  ss.pipe(res);
}
