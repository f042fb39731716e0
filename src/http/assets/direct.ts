/**
 * @module http/assets/direct
 * The lean path for unconditional GET/HEAD (every installer download): the same headers and
 * statuses send produces for them — Accept-Ranges, Cache-Control, Last-Modified, ETag,
 * Content-Type, Content-Length, 200/206/416 — written directly, with the body pumped from the
 * cached descriptor. Requests with preconditions (If-Match, If-None-Match, If-Modified-Since,
 * If-Unmodified-Since) go through send instead (via-send.ts). test/http/assets-paths.test.ts
 * checks both paths answer byte- and header-identically.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { newBoundary, planMultipart, type Segment } from './multipart';
import type { AssetFile } from './open-files';
import type { Plan } from './plan';
import { contentRange, unsatisfiedRange } from './ranges';

/** Headers both paths set before the status is known (send sets the same ones). */
export function setEntityHeaders(res: ServerResponse, f: AssetFile, contentType: string): void {
  res.setHeader('ETag', f.etag);
  res.setHeader('Content-Type', contentType);
  res.setHeader('X-Content-Type-Options', 'nosniff');
}

/**
 * Sets status and headers for `plan` and returns the body segments (empty for HEAD, 416 and
 * empty files). The caller pumps them.
 */
export function directResponse(
  res: ServerResponse,
  method: string,
  f: AssetFile,
  plan: Plan,
  contentType: string,
): readonly Segment[] | null {
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'public, max-age=0');
  res.setHeader('Last-Modified', f.lastModified);
  if (plan.kind === 'unsatisfiable') {
    protocolError(res, 416, { 'Content-Range': unsatisfiedRange(f.size) });
    return null;
  }
  if (plan.kind === 'multi') {
    const mp = planMultipart(plan.ranges, f.size, contentType, newBoundary());
    res.statusCode = 206;
    res.setHeader('Content-Type', mp.contentType);
    res.setHeader('Content-Length', mp.length);
    return mp.segments;
  }
  if (plan.kind === 'single') {
    res.statusCode = 206;
    res.setHeader('Content-Range', contentRange(plan.range, f.size));
    res.setHeader('Content-Length', plan.range.end - plan.range.start + 1);
    return method === 'HEAD' ? [] : [plan.range];
  }
  res.statusCode = 200;
  res.setHeader('Content-Length', f.size);
  return method === 'HEAD' || f.size === 0 ? [] : [{ start: 0, end: f.size - 1 }];
}

/** A short text error (412, 416, 5xx) keeping the validators; 416 carries `Content-Range`. */
export function protocolError(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  for (const name of res.getHeaderNames()) if (name !== 'etag' && name !== 'last-modified') res.removeHeader(name);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  const body = `${status} ${STATUS_CODES[status] ?? ''}\n`;
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
