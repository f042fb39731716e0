/**
 * Test harness for /images: an express app with only the assets router on 127.0.0.1:0, a
 * temp images root, and a real curl driver that returns status, headers and the exact body.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { Registry } from 'prom-client';
import { chooseFastPaths } from '../../src/daemon/fast-paths';
import { createAssetsRouter, type ServedEvent } from '../../src/http/assets/router';
import { silentLogger } from '../../src/log';
import { native } from '../../src/native';

export interface Harness {
  base: string;
  dir: string;
  served: ServedEvent[];
  metrics: Registry;
  close(): Promise<void>;
}

/** Starts the router on an ephemeral loopback port over `root` (created by the caller). */
export async function startAssets(
  root: string,
  dir: string,
  opts: { maxRanges?: number; chunkSize?: number; directPath?: boolean; sendfile?: boolean } = {},
): Promise<Harness> {
  const served: ServedEvent[] = [];
  const metrics = new Registry();
  const app = express();
  // As the daemon chooses it (daemon/fast-paths.ts) unless the test asks for the copy path.
  const sendfile = opts.sendfile === false ? null : chooseFastPaths(native()).sendfile;
  app.use(
    '/images',
    createAssetsRouter({ root, log: silentLogger(), metrics, onServed: (e) => served.push(e), ...opts, sendfile }),
  );
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/images`,
    dir,
    served,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function tempDir(tag: string): string {
  return mkdtempSync(path.join(tmpdir(), `ks-assets-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface CurlResult {
  status: number;
  headers: Map<string, string>;
  body: Buffer;
}

let seq = 0;

/** Runs the real curl; `args` go before the URL. Bounded by a 20 s timeout. */
export async function curl(h: Harness, urlPath: string, args: string[] = [], output?: string): Promise<CurlResult> {
  const n = seq++;
  const hdr = path.join(h.dir, `h${n}`);
  const body = output ?? path.join(h.dir, `b${n}`);
  await run(['-sS', '--max-time', '20', '-D', hdr, '-o', body, ...args, `${h.base}${urlPath}`]);
  // With -I curl writes the header block (Date and all) to -o as well; a HEAD has no body.
  const head = args.includes('-I') || args.includes('--head');
  return parseResult(readFileSync(hdr, 'latin1'), head ? null : body);
}

/** Runs curl with exactly `args`; resolves with stdout. */
export function run(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile('curl', args, { timeout: 25_000, encoding: 'buffer', maxBuffer: 64 << 20 }, (err, out, stderr) =>
      err ? reject(new Error(`curl failed: ${stderr.toString() || err.message}`)) : resolve(out),
    );
  });
}

function parseResult(raw: string, bodyFile: string | null): CurlResult {
  const blocks = raw.split(/\r\n\r\n/).filter((b) => b.startsWith('HTTP/'));
  const last = blocks[blocks.length - 1] ?? '';
  const [statusLine = '', ...lines] = last.split('\r\n');
  const headers = new Map<string, string>();
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  let body = Buffer.alloc(0); // HEAD and empty bodies: curl creates no file
  try {
    if (bodyFile !== null) body = readFileSync(bodyFile);
  } catch {
    /* no file written */
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

export interface Part {
  contentType: string;
  contentRange: string;
  body: Buffer;
}

/** Strict multipart/byteranges parser (RFC 2046 §5.1.1 with an empty preamble/epilogue). */
export function parseMultipart(contentType: string, body: Buffer): Part[] {
  const m = /^multipart\/byteranges;\s*boundary=([^;\s]+)$/.exec(contentType);
  if (m === null) throw new Error(`not multipart/byteranges: ${contentType}`);
  const delim = Buffer.from(`--${m[1]}`, 'latin1');
  const parts: Part[] = [];
  let pos = 0;
  if (!body.subarray(0, delim.length).equals(delim)) throw new Error('body does not start with the boundary');
  pos = delim.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString('latin1') === '--') {
      if (body.subarray(pos + 2).toString('latin1') !== '\r\n') throw new Error('bad close delimiter');
      return parts;
    }
    if (body.subarray(pos, pos + 2).toString('latin1') !== '\r\n') throw new Error('missing CRLF after boundary');
    const headEnd = body.indexOf('\r\n\r\n', pos + 2, 'latin1');
    const head = body.subarray(pos + 2, headEnd).toString('latin1');
    const fields = new Map(
      head.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const cr = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(fields.get('content-range') ?? '');
    if (cr === null) throw new Error(`bad part Content-Range: ${head}`);
    const len = Number(cr[2]) - Number(cr[1]) + 1;
    const start = headEnd + 4;
    parts.push({
      contentType: fields.get('content-type') ?? '',
      contentRange: fields.get('content-range') ?? '',
      body: body.subarray(start, start + len),
    });
    pos = start + len;
    if (!body.subarray(pos, pos + 2 + delim.length).equals(Buffer.concat([Buffer.from('\r\n'), delim])))
      throw new Error('part not followed by a delimiter');
    pos += 2 + delim.length;
  }
}
