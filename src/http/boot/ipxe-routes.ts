/**
 * @module http/boot/ipxe-routes
 * GET /boot.ipxe and GET /ipxe/:mac — the iPXE scripts: boot/policy.ts decideScript decides
 * which (through install/host-script.ts, shared with the GRUB chain), http/boot/scripts.ts
 * renders it. An armed host's install script carries its one-time token, so it is served only
 * to the host's own address (install/binding.ts; reliability I02: no harvesting tokens by MAC).
 * Every script served to a known machine is an `http.ipxe` event on its timeline: a pure
 * observation, appended without the answer waiting for its fsync (install/observe.ts); the
 * state the script depends on (token, address binding, discovery) is durable before it.
 *
 * The handlers take node:http's request and response: the daemon runs them on the HTTP
 * server's fast path (./fast-path.ts), express only for URLs in a form the fast path leaves
 * to it (./index.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { chainScript, discoveredScript } from '../../boot/ipxe';
import { locateByIp, peerAddress } from '../../hosts/locate';
import { observe } from '../../install/observe';
import { parseMac } from '../../model/mac';
import { replyText } from '../reply';
import type { BootDeps, BootMetrics } from './deps';
import { hostScriptText } from './scripts';

export interface IpxeHandlers {
  /** GET /boot.ipxe */
  chain(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** GET /ipxe/<mac>, `mac` as in the path (decoded). */
  script(req: IncomingMessage, res: ServerResponse, mac: string): Promise<void>;
}

export function ipxeHandlers(deps: BootDeps, m: BootMetrics): IpxeHandlers {
  const log = deps.log.child({ component: 'ipxe' });

  return {
    async chain(req, res) {
      const ip = peerAddress(req.socket.remoteAddress);
      const at = await locateByIp(deps.store, ip);
      if (at)
        observe(deps.store, log, {
          host: at.host.name,
          mac: at.mac,
          kind: 'http.ipxe',
          message: `boot.ipxe fetched from ${ip}`,
          data: { ip, script: 'chain' },
        });
      else log.debug({ ip }, 'boot.ipxe fetched by an unknown address');
      m.scripts.inc({ script: 'chain' });
      replyText(req, res, 200, chainScript(deps.config().publicUrl));
    },

    async script(req, res, macText) {
      const ip = peerAddress(req.socket.remoteAddress);
      const mac = parseMac(macText);
      if (mac === undefined) {
        m.scripts.inc({ script: 'refused' });
        return replyText(req, res, 400, '#!ipxe\necho Kickstand: not a MAC address\nexit\n');
      }
      const s = await deps.scripts.resolve(mac, ip, 'iPXE script');
      if (s.kind === 'discovered') {
        m.scripts.inc({ script: 'discovered' });
        return replyText(req, res, 200, discoveredScript(mac));
      }
      if (s.kind === 'refused') {
        m.scripts.inc({ script: 'refused' });
        return replyText(req, res, 403, '#!ipxe\necho Kickstand: refused\nexit\n');
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
      observe(deps.store, log, {
        host: known.name,
        mac,
        kind: 'http.ipxe',
        level: d.kind === 'local' && known.state === 'armed' ? 'warn' : 'info',
        message: `served ${what} to ${ip}`,
        data: { ip, script: d.kind },
      });
      m.scripts.inc({ script: d.kind });
      replyText(req, res, 200, text);
    },
  };
}
