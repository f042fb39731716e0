/**
 * @module bench/http-assets-server
 * Benchmark server for bench/http.sh: an express app with only the /images assets router,
 * serving --root on 127.0.0.1:--port at `/` (so peer scripts can ask for /big.bin) and at
 * `/images`. Not part of the daemon; `kickstand serve` mounts the same router.
 *   node dist/bench/http-assets-server.js --root DIR --port 16083 [--chunk BYTES] [--workers N]
 * (bench/http.sh builds dist/ first: the daemon runs compiled code, not through tsx's loader.)
 * --mode send-naive [--hwm BYTES]: instead of Kickstand's router, the naive express + send
 * server of the peer script (`send(req, req.path, {root}).pipe(res)`), optionally with a
 * larger fs.createReadStream highWaterMark — the baselines docs/http-assets.md compares.
 * --sendfile off: never use sendfile(2), copy every body through user space (the fallback when
 * the native addon is not built). Default: sendfile when the addon is loaded.
 * --workers N (default 1) forks N processes sharing the listening socket (node:cluster), the
 * way nginx runs one worker per CPU — to measure what a second process would buy.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import express from 'express';
import { Registry } from 'prom-client';
import send from 'send';
import { createAssets } from '../src/http/assets/router';
import { dispatch, type FastPath } from '../src/http/server';
import { nativeStatus } from '../src/native';
import { silentLogger } from '../src/log';

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : dflt;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const root = arg('root', process.env.PB_ROOT);
const port = Number(arg('port', process.env.PB_PORT ?? '16083'));
const host = arg('host', process.env.PB_HOST ?? '127.0.0.1');
const chunk = Number(arg('chunk', String(1 << 20)));
const workers = Number(arg('workers', '1'));
const mode = arg('mode', 'kickstand');
const hwm = Number(arg('hwm', '0'));
const sendfile = arg('sendfile', 'on') !== 'off';

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let up = 0;
  cluster.on('listening', () => {
    if (++up === workers) process.stdout.write(`listening on ${host}:${port} (${workers} workers)\n`);
  });
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  });
} else {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const fast: FastPath[] = [];
  if (mode === 'send-naive') {
    const opts: send.SendOptions & { highWaterMark?: number } = { root };
    if (hwm > 0) opts.highWaterMark = hwm; // send passes its options on to fs.createReadStream
    app.use((req, res) => {
      send(req, req.path.replace(/^\/images\//, '/'), opts)
        .on('error', (err: { status?: number }) => {
          res.statusCode = err.status ?? 500;
          res.end();
        })
        .pipe(res);
    });
  } else {
    // As the daemon mounts it: a fast path by prefix in front of express (src/http/server.ts).
    const assets = createAssets({ root, log: silentLogger(), metrics: new Registry(), chunkSize: chunk, sendfile });
    if (sendfile && !nativeStatus().loaded) process.stderr.write(`sendfile unavailable: ${nativeStatus().reason}\n`);
    fast.push({ prefix: '/images/', handle: assets.handle }, { prefix: '/', handle: assets.handle });
  }
  const server = createServer({ keepAliveTimeout: 5_000 }, dispatch(app, fast));
  server.listen(port, host, () => {
    if (workers <= 1) process.stdout.write(`listening on ${host}:${port}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
