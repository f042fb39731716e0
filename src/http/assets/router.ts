/**
 * @module http/assets/router
 * `/images`: boot assets (loaders, kernels, initrds, install trees) with RFC 9110 ranges.
 *
 * Per request:
 * 1. jail.ts — canonical path; realpath containment, dotfiles, regular file (send follows
 *    symlinks out of its root, so it only ever sees an already-resolved real path).
 * 2. plan.ts — strong If-Range (§13.1.5), then Range with a cap and coalescing (ranges.ts).
 * 3. Unconditional GET/HEAD (every installer download) → direct.ts: the file comes from the
 *    open-file cache (open-files.ts) and the headers are written directly.
 *    With If-Match/If-None-Match/If-Modified-Since/If-Unmodified-Since → via-send.ts: send
 *    evaluates the preconditions (304/412) on a fresh resolution.
 * 4. pump.ts — the body for both paths: sendfile(2) on a native thread (sendfile.ts) or pooled
 *    large buffers; several ranges become multipart/byteranges (multipart.ts), which send
 *    cannot produce.
 * Why two paths, and the measurements behind them: docs/http-assets.md.
 */
import { promises as fsp } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import type { Registry } from 'prom-client';
import { ErrorCode, KickstandError } from '../../errors';
import type { Logger } from '../../log';
import { directResponse, setEntityHeaders } from './direct';
import { checkUrlPath, resolveInJail, type Refusal } from './jail';
import { assetMetrics, type AssetMetrics } from './metrics';
import { contentTypeFor } from './mime';
import { isSlice, type Segment } from './multipart';
import { assetFile, createOpenFileCache, type AssetFile, type OpenFileCache } from './open-files';
import { hasPreconditions, planRequest } from './plan';
import { createBufferPool, pumpSegments, type BufferPool, type PumpProgress } from './pump';
import { DEFAULT_MAX_RANGES } from './ranges';
import { serveViaSend } from './via-send';
import type { Sendfile } from './sendfile';

export interface ServedEvent {
  path: string;
  remoteAddress: string;
  status: number;
  bytes: number;
  range: string | null;
}

export interface ProgressEvent {
  path: string;
  remoteAddress: string;
  /** Body bytes sent so far. */
  bytes: number;
  /** Body length (Content-Length). */
  total: number;
}

const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

export interface AssetsDeps {
  root: string;
  log: Logger;
  metrics: Registry;
  /** Most parts in a multipart/byteranges answer; more → 200 with the whole file. Default 16. */
  maxRanges?: number;
  /** The lead maps remote IP → host timeline (kernel/initrd fetched). */
  onServed?: (e: ServedEvent) => void;
  /**
   * Called about once a second while a large body (≥ 4 MiB) is being sent, for live progress
   * (`kickstand watch`). Not called for small files or short ranges.
   */
  onProgress?: (e: ProgressEvent) => void;
  /** Largest read = largest pooled buffer, bytes. Default 1 MiB (docs/http-assets.md). */
  chunkSize?: number;
  /** Bytes of idle pooled buffers kept for reuse. Default 32 MiB. */
  poolIdleBytes?: number;
  /** Bytes of buffers shared by responses in progress (smaller chunks when many). Default 96 MiB. */
  activeBufferBudget?: number;
  /** How long an open-file cache entry is trusted before re-checking the path, ms. Default 1000. */
  openFileValidMs?: number;
  /** false: every request goes through send (differential tests). Default true. */
  directPath?: boolean;
  /**
   * The sendfile(2) body sender (sendfile.ts), chosen once by the daemon (daemon/fast-paths.ts).
   * Absent or null: bodies are always copied through user space (pump.ts).
   */
  sendfile?: Sendfile | null;
}

interface Ctx {
  deps: AssetsDeps;
  log: Logger;
  metrics: AssetMetrics;
  pool: BufferPool;
  files: OpenFileCache;
  maxRanges: number;
  realRoot: () => Promise<string>;
}

/**
 * The assets handler, usable two ways: `router` for an express mount, and `handle` for a plain
 * node:http dispatch by URL prefix (HttpService's fast path: express's routing and request
 * decoration cost more per request than a 1 MiB sendfile, bench/RESULTS.md).
 */
export interface Assets {
  router: Router;
  /** Serves `urlPath` (the path below the mount point, e.g. `/vmlinuz?x=1`). Never throws. */
  handle: (req: IncomingMessage, res: ServerResponse, urlPath: string) => void;
}

export function createAssetsRouter(deps: AssetsDeps): Router {
  return createAssets(deps).router;
}

export function createAssets(deps: AssetsDeps): Assets {
  let root: string | undefined;
  const ctx: Ctx = {
    deps,
    log: deps.log.child({ component: 'http-assets' }),
    metrics: assetMetrics(deps.metrics),
    pool: createBufferPool({
      chunkSize: deps.chunkSize ?? 1 << 20,
      maxIdleBytes: deps.poolIdleBytes ?? 32 << 20,
      activeBudget: deps.activeBufferBudget ?? 96 << 20,
    }),
    files: createOpenFileCache({ validMs: deps.openFileValidMs ?? 1000 }),
    maxRanges: deps.maxRanges ?? DEFAULT_MAX_RANGES,
    // Resolved lazily and re-tried while it fails: images/ may be created after start-up.
    realRoot: async () => (root ??= await fsp.realpath(deps.root)),
  };
  const handle = (req: IncomingMessage, res: ServerResponse, urlPath: string): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(
        res,
        405,
        new KickstandError(ErrorCode.INVALID_INPUT, 'only GET and HEAD are served here', { fix: 'use GET' }),
      );
    }
    serve(ctx, req, res, urlPath).catch((err: unknown) => {
      ctx.log.error({ err }, 'asset request failed');
      if (!res.headersSent)
        sendError(res, 500, new KickstandError(ErrorCode.INTERNAL, 'internal error', { fix: 'see the daemon log' }));
      else res.destroy();
    });
  };
  const router = Router();
  router.use((req, res) => handle(req, res, req.url ?? '/'));
  return { router, handle };
}

function sendError(res: ServerResponse, status: number, err: KickstandError): void {
  const body = JSON.stringify(err.toJSON());
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

async function serve(ctx: Ctx, req: IncomingMessage, res: ServerResponse, urlPath: string): Promise<void> {
  const q = urlPath.indexOf('?');
  const rawPath = q < 0 ? urlPath : urlPath.slice(0, q);
  let reported = rawPath.slice(0, 256);
  const progress: PumpProgress = { bytes: 0 };
  res.once('close', () => report(ctx, req, res, reported, progress));

  const checked = checkUrlPath(rawPath);
  if (!checked.ok) return refuse(ctx, res, checked);
  let realRoot: string;
  try {
    realRoot = await ctx.realRoot();
  } catch (err) {
    ctx.log.warn({ err }, 'images root is missing');
    return refuse(ctx, res, { ok: false, status: 404, reason: 'not-found' });
  }
  const method = req.method ?? 'GET'; // handle() admits only GET and HEAD
  const viaSend = ctx.deps.directPath === false || hasPreconditions(req.headers);
  if (viaSend) {
    const found = await resolveInJail(realRoot, checked.segments);
    if (!found.ok) return refuse(ctx, res, found);
    const f = assetFile(found);
    reported = f.rel;
    const contentType = contentTypeFor(f.rel);
    const plan = planRequest(method, req.headers, f, ctx.maxRanges, ctx.metrics, Date.now());
    setEntityHeaders(res, f, contentType);
    serveViaSend({ method, headers: req.headers }, res, realRoot, f, plan, contentType, (segments) =>
      pump(ctx, res, { path: f.path }, f, segments, progress),
    );
    return;
  }
  const f = await ctx.files.acquire(realRoot, checked.segments);
  if (!f.ok) return refuse(ctx, res, f);
  reported = f.rel;
  const contentType = contentTypeFor(f.rel);
  const plan = planRequest(method, req.headers, f, ctx.maxRanges, ctx.metrics, Date.now());
  setEntityHeaders(res, f, contentType);
  const segments = directResponse(res, method, f, plan, contentType);
  if (segments === null) return ctx.files.release(f);
  const only = segments.length === 1 ? segments[0] : undefined;
  if (f.body !== null && only !== undefined && isSlice(only)) {
    // A small file: its copy from the cache in one write (open-files.ts SMALL_BODY_BYTES).
    const chunk = f.body.subarray(only.start, only.end + 1);
    ctx.files.release(f);
    progress.bytes = chunk.length;
    return void res.end(chunk);
  }
  watchProgress(ctx, req, res, reported, progress);
  pump(ctx, res, { fd: f.fd }, f, segments, progress, () => ctx.files.release(f));
}

function pump(
  ctx: Ctx,
  res: ServerResponse,
  source: { fd: number } | { path: string },
  f: AssetFile,
  segments: readonly Segment[],
  progress: PumpProgress,
  then?: () => void,
): void {
  pumpSegments(
    source,
    res,
    segments,
    ctx.pool,
    progress,
    (r) => {
      if (r.error !== undefined) ctx.log.warn({ err: r.error, path: f.rel }, 'asset body failed');
      then?.();
    },
    { sendfile: ctx.deps.sendfile ?? null },
  );
}

/** Reports `progress` once a second while a large body is on its way (deps.onProgress). */
function watchProgress(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  progress: PumpProgress,
): void {
  const hook = ctx.deps.onProgress;
  const total = Number(res.getHeader('content-length') ?? 0);
  if (hook === undefined || req.method !== 'GET' || total < PROGRESS_MIN_BYTES) return;
  const remoteAddress = req.socket.remoteAddress ?? '';
  const timer = setInterval(() => {
    try {
      hook({ path, remoteAddress, bytes: progress.bytes, total });
    } catch (err) {
      ctx.log.warn({ err }, 'onProgress hook failed');
    }
  }, 1000);
  timer.unref();
  res.once('close', () => clearInterval(timer));
}

function refuse(ctx: Ctx, res: ServerResponse, r: Refusal): void {
  ctx.metrics.refused.inc({ reason: r.reason });
  ctx.log.debug({ reason: r.reason, status: r.status }, 'asset path refused');
  const err =
    r.status === 403
      ? new KickstandError(ErrorCode.PATH_REFUSED, 'path refused', {
          fix: 'request a file under /images by its plain path',
        })
      : r.status === 400
        ? new KickstandError(ErrorCode.INVALID_INPUT, 'malformed path', {
            fix: 'percent-encode the path once, without NUL bytes',
          })
        : new KickstandError(ErrorCode.NOT_FOUND, 'no such asset', {
            fix: 'see images/README.md for what goes under images/',
          });
  sendError(res, r.status, err);
}

function report(ctx: Ctx, req: IncomingMessage, res: ServerResponse, path: string, progress: PumpProgress): void {
  const status = res.statusCode;
  const bytes = progress.bytes;
  ctx.metrics.responses.inc({ status: String(status) });
  ctx.metrics.bytes.inc(bytes);
  ctx.metrics.sendfileBytes.inc(progress.sendfileBytes ?? 0);
  ctx.log.debug({ path, status, bytes }, 'asset response');
  const e: ServedEvent = {
    path,
    remoteAddress: req.socket.remoteAddress ?? '',
    status,
    bytes,
    range: req.headers.range ?? null,
  };
  try {
    ctx.deps.onServed?.(e);
  } catch (err) {
    ctx.log.warn({ err }, 'onServed hook failed');
  }
}
