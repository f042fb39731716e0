/**
 * @module http/boot/callback-routes
 * POST /cb/:token/installing and POST /cb/:token/installed — the install callbacks
 * (install/callbacks.ts). The body is raw text whatever the content type, so a %post with only
 * sh and curl can send `cat /etc/ssh/ssh_host_*_key.pub | curl --data-binary @- URL`; a JSON
 * body `{"sshHostKeys": [...]}` is accepted too. Bodies are capped at 64 KiB (I04).
 */
import express, { Router } from 'express';
import { peerAddress } from '../../hosts/locate';
import type { BootDeps, BootMetrics } from './deps';

export const MAX_CALLBACK_BODY = 64 * 1024;

export function callbackRouter(deps: BootDeps, m: BootMetrics): Router {
  const r = Router();
  const raw = express.text({ type: () => true, limit: MAX_CALLBACK_BODY });

  r.post('/cb/:token/:kind', raw, async (req, res) => {
    const kind = String(req.params.kind);
    if (kind !== 'installing' && kind !== 'installed') {
      res.status(404).type('text/plain').send('no such callback\n');
      return;
    }
    const ip = peerAddress(req.socket.remoteAddress);
    const body = typeof req.body === 'string' ? req.body : '';
    const out = await deps.callbacks.handle(kind, String(req.params.token), ip, body);
    m.callbacks.inc({ callback: kind, status: String(out.status) });
    res
      .status(out.status)
      .type('text/plain')
      .set('cache-control', 'no-store')
      .send(out.message + '\n');
  });

  return r;
}
