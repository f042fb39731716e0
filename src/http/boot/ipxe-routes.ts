/**
 * @module http/boot/ipxe-routes
 * GET /boot.ipxe and GET /ipxe/:mac — the iPXE scripts: boot/policy.ts decideScript decides
 * which (through install/host-script.ts, shared with the GRUB chain), http/boot/scripts.ts
 * renders it. An armed host's install script carries its one-time token, so it is served only
 * to the host's own address (install/binding.ts; reliability I02: no harvesting tokens by MAC).
 * Every script served to a known machine is an `http.ipxe` event on its timeline.
 */
import { Router, type Response } from 'express';
import { chainScript, discoveredScript } from '../../boot/ipxe';
import { locateByIp, peerAddress } from '../../hosts/locate';
import { parseMac } from '../../model/mac';
import type { BootDeps, BootMetrics } from './deps';
import { hostScriptText } from './scripts';

function sendScript(res: Response, status: number, text: string): void {
  res.status(status).type('text/plain').set('cache-control', 'no-store').send(text);
}

export function ipxeRouter(deps: BootDeps, m: BootMetrics): Router {
  const r = Router();
  const log = deps.log.child({ component: 'ipxe' });

  r.get('/boot.ipxe', async (req, res) => {
    const ip = peerAddress(req.socket.remoteAddress);
    const at = await locateByIp(deps.store, ip);
    if (at)
      await deps.store.events.append({
        host: at.host.name,
        mac: at.mac,
        kind: 'http.ipxe',
        message: `boot.ipxe fetched from ${ip}`,
        data: { ip, script: 'chain' },
      });
    else log.debug({ ip }, 'boot.ipxe fetched by an unknown address');
    m.scripts.inc({ script: 'chain' });
    sendScript(res, 200, chainScript(deps.config().publicUrl));
  });

  r.get('/ipxe/:mac', async (req, res) => {
    const ip = peerAddress(req.socket.remoteAddress);
    const mac = parseMac(String(req.params.mac));
    if (mac === undefined) {
      m.scripts.inc({ script: 'refused' });
      return sendScript(res, 400, '#!ipxe\necho Kickstand: not a MAC address\nexit\n');
    }
    const s = await deps.scripts.resolve(mac, ip, 'iPXE script');
    if (s.kind === 'discovered') {
      m.scripts.inc({ script: 'discovered' });
      return sendScript(res, 200, discoveredScript(mac));
    }
    if (s.kind === 'refused') {
      m.scripts.inc({ script: 'refused' });
      return sendScript(res, 403, '#!ipxe\necho Kickstand: refused\nexit\n');
    }
    const { host: known, decision: d, token } = s;
    const text = hostScriptText(d, {
      host: known,
      mac,
      tokenText: token?.token ?? '',
      publicUrl: deps.config().publicUrl,
      renderer: deps.renderer,
    });
    const what = d.kind === 'install' ? 'install script' : `local-boot script (${d.reason})`;
    await deps.store.events.append({
      host: known.name,
      mac,
      kind: 'http.ipxe',
      level: d.kind === 'local' && known.state === 'armed' ? 'warn' : 'info',
      message: `served ${what} to ${ip}`,
      data: { ip, script: d.kind },
    });
    m.scripts.inc({ script: d.kind });
    sendScript(res, 200, text);
  });

  return r;
}
