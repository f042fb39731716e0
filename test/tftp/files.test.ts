/**
 * The images/ jail (createFileHandler) directly, and >100 crafted traversal paths sent as raw
 * RRQs over real UDP sockets on 127.0.0.1 (no root needed) to a real server: none may ever
 * return the canary file outside the root.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { mkdtempSync, mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Registry } from 'prom-client';
import { tftpSchema } from '../../src/config/sections/tftp';
import { ErrorCode, KickstandError } from '../../src/errors';
import { silentLogger } from '../../src/log';
import { createFileHandler } from '../../src/tftp/files';
import { createTftpServer } from '../../src/tftp/server';
import type { TftpContent, TftpEvent } from '../../src/tftp/types';
import { rawGet } from './raw-client';

let dir = '';
let root = '';
const CANARY = `CANARY-${process.pid}-must-never-be-served`;
const client = { address: '127.0.0.1', port: 1, localAddress: '127.0.0.1' };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ks-tftp-files-'));
  root = join(dir, 'images');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(dir, 'images-private'));
  writeFileSync(join(dir, 'canary.txt'), CANARY);
  writeFileSync(join(dir, 'images-private', 'canary.txt'), CANARY);
  writeFileSync(join(root, 'ok.txt'), 'inside');
  writeFileSync(join(root, 'sub', 'deeper', 'ok.txt'), 'deep');
  writeFileSync(join(root, '..foo'), 'legal name');
  symlinkSync(join(dir, 'canary.txt'), join(root, 'link-out')); // absolute symlink out
  symlinkSync('../canary.txt', join(root, 'rel-out')); // relative symlink out
  symlinkSync('..', join(root, 'dir-out')); // directory symlink out
  symlinkSync('../images-private', join(root, 'sibling')); // sibling with the root as prefix
  symlinkSync('ok.txt', join(root, 'link-in')); // symlink staying inside: allowed
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function body(c: TftpContent): Promise<string> {
  if ('buffer' in c) return c.buffer.toString();
  if ('file' in c) {
    const b = Buffer.alloc(c.size);
    await c.file.read(b, 0, c.size, 0);
    await c.file.close();
    return b.toString();
  }
  const parts: Buffer[] = [];
  for await (const b of c.stream() as Readable) parts.push(b as Buffer);
  return Buffer.concat(parts).toString();
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'served';
  } catch (e) {
    return e instanceof KickstandError ? e.code : `other: ${String(e)}`;
  }
}

test('serves files inside the root, including through inside symlinks and legal "..foo" names', async () => {
  const h = createFileHandler(root);
  assert.equal(await body(await h('ok.txt', client)), 'inside');
  assert.equal(await body(await h('sub/deeper/ok.txt', client)), 'deep');
  assert.equal(await body(await h('link-in', client)), 'inside');
  assert.equal(await body(await h('..foo', client)), 'legal name');
});

test('refuses names and symlinks that lead out (PATH_REFUSED) and missing files (NOT_FOUND)', async () => {
  const h = createFileHandler(root);
  for (const p of [
    '../canary.txt',
    '//etc/passwd',
    '/../canary.txt',
    'sub\\..\\..\\canary.txt',
    'a\0b',
    'sub//ok.txt',
    './ok.txt',
    'link-out',
    'rel-out',
    'dir-out/canary.txt',
    'sibling/canary.txt',
    'x'.repeat(256),
    'tab\there',
  ]) {
    assert.equal(await code(h(p, client)), ErrorCode.PATH_REFUSED, JSON.stringify(p));
  }
  // One leading / is the root itself (tftpd-hpa --secure): /etc/passwd is images/etc/passwd.
  for (const p of ['missing.bin', 'sub', 'sub/deeper/none', '/etc/passwd']) {
    assert.equal(await code(h(p, client)), ErrorCode.NOT_FOUND, p);
  }
});

test('one leading / names the root, as GRUB asks (/grub/grub.cfg; docs/firmware.md)', async () => {
  const h = createFileHandler(root);
  assert.equal(await body(await h('/sub/deeper/ok.txt', client)), 'deep');
  assert.equal(await body(await h('/ok.txt', client)), 'inside');
});

test('cache: small files are cached and reloaded when the file changes', async () => {
  const h = createFileHandler(root);
  const f = join(root, 'hot.cfg');
  writeFileSync(f, 'v1');
  const a = await h('hot.cfg', client);
  const b = await h('hot.cfg', client);
  assert.ok('buffer' in a && 'buffer' in b && a.buffer === b.buffer, 'second hit from the cache');
  writeFileSync(f, 'version2');
  utimesSync(f, new Date(), new Date(Date.now() + 5000));
  assert.equal(await body(await h('hot.cfg', client)), 'version2');
});

test('large files are served from the descriptor opened at request time (replacement mid-transfer is a snapshot)', async () => {
  const h = createFileHandler(root, { cacheFileBytes: 10 });
  const f = join(root, 'big.bin');
  writeFileSync(f, 'A'.repeat(100_000));
  const c = await h('big.bin', client);
  assert.ok('file' in c);
  writeFileSync(join(root, 'big.new'), 'B'.repeat(50));
  renameSync(join(root, 'big.new'), f);
  const s = await body(c);
  assert.equal(s.length, 100_000);
  assert.equal(s, 'A'.repeat(100_000));
});

/** >100 crafted names: traversal, encoded, doubled, backslashed, absolute, symlinked. */
function craftedPaths(): string[] {
  const ups = [
    '..',
    '../..',
    '../../..',
    '....',
    '.../...',
    '..././..',
    '..%2f..',
    '%2e%2e',
    '%252e%252e',
    '.%2e',
    '%2e.',
    '..;',
    '..\u2215..',
    '\uff0e\uff0e',
  ];
  const seps = ['/', '\\', '//', '/./', '%2f', '%5c', '\\/'];
  const targets = ['canary.txt', 'images-private/canary.txt', `${dir.slice(1)}/canary.txt`];
  const out = new Set<string>();
  for (const u of ups) for (const s of seps) out.add(`${u}${s}${targets[0]}`);
  for (const t of targets) {
    out.add(`/${t}`);
    out.add(`${dir}/${t.split('/').pop()}`);
    out.add(`sub/../../${t}`);
    out.add(`sub/deeper/../../../${t}`);
    out.add(`./../${t}`);
    out.add(`sub/./../../${t}`);
    out.add(`..\\..\\${t}`);
    out.add(`sub\\..\\..\\${t}`);
  }
  for (const l of [
    'link-out',
    'rel-out',
    'dir-out/canary.txt',
    'dir-out/images-private/canary.txt',
    'sibling/canary.txt',
    'dir-out/dir-out/canary.txt',
    'sub/../link-out',
    'sibling/../canary.txt',
    'dir-out/images/../canary.txt',
  ])
    out.add(l);
  out.add('/');
  out.add('.');
  out.add('..');
  out.add('../');
  out.add('canary.txt\0');
  out.add('ok.txt/../../canary.txt');
  out.add('file:///' + join(dir, 'canary.txt'));
  return [...out];
}

test('traversal over real UDP: >100 crafted paths never return the canary (ERROR 1/2 only)', async () => {
  const events: TftpEvent[] = [];
  const server = createTftpServer({
    config: tftpSchema.parse({ listen: ['127.0.0.1'], port: 0, maxSessionsPerClient: 200, maxSessions: 200 }),
    handler: createFileHandler(root),
    log: silentLogger(),
    metrics: new Registry(),
    onEvent: (e) => events.push(e),
  });
  await server.start();
  const { port } = server.addresses()[0]!;
  const paths = craftedPaths();
  assert.ok(paths.length >= 100, `${paths.length} paths`);
  try {
    for (const p of paths) {
      const sock = createSocket('udp4');
      await new Promise<void>((res) => sock.bind(0, '127.0.0.1', () => res()));
      try {
        const r = await rawGet(sock, '127.0.0.1', port, p, { timeoutMs: 3000 });
        assert.equal(r.timedOut, false, `answered: ${JSON.stringify(p)}`);
        assert.ok(!r.data.toString('latin1').includes('CANARY'), `canary leaked via ${JSON.stringify(p)}`);
        assert.ok(
          r.error !== null && [1, 2, 4].includes(r.error.code),
          `ERROR for ${JSON.stringify(p)}: ${JSON.stringify(r.error)}`,
        );
      } finally {
        sock.close();
      }
    }
    const refused = events.filter((e) => e.kind === 'tftp.refused');
    assert.equal(refused.length, paths.length);
    assert.ok(refused.filter((e) => e.data.reason === 'path').length >= 80, 'most refused as access violations');
    assert.equal(events.filter((e) => e.kind === 'tftp.start').length, 0);
  } finally {
    await server.stop();
  }
});
