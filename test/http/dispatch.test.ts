/**
 * HttpService's fast paths (src/http/server.ts dispatch): URLs under a prefix go to the handler
 * without express, with the rest of the path and the query; everything else reaches express.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { dispatch } from '../../src/http/server';

let server: Server;
let base = '';

before(async () => {
  const app = express();
  app.use((req, res) => {
    res.setHeader('X-Via', 'express');
    res.end(req.url);
  });
  server = createServer(
    dispatch(app, [
      {
        prefix: '/images/',
        handle: (_req, res, rest) => {
          res.setHeader('X-Via', 'fast');
          res.end(rest);
        },
      },
    ]),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

describe('dispatch by prefix', () => {
  const cases: Array<[string, string, string]> = [
    ['/images/vmlinuz', 'fast', '/vmlinuz'],
    ['/images/rocky9/images/pxeboot/initrd.img?x=1', 'fast', '/rocky9/images/pxeboot/initrd.img?x=1'],
    ['/images/', 'fast', '/'],
    ['/images', 'express', '/images'],
    ['/imagesX/a', 'express', '/imagesX/a'],
    ['/api/v1/hosts', 'express', '/api/v1/hosts'],
  ];
  for (const [url, via, body] of cases) {
    it(`${url} → ${via}`, async () => {
      const r = await fetch(base + url);
      assert.equal(r.headers.get('x-via'), via);
      assert.equal(await r.text(), body);
    });
  }
});
