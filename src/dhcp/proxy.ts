/**
 * @module dhcp/proxy
 * proxyDHCP (PXE 2.1 §2.2.5, §2.2.4): beside a site DHCP server, answer PXE clients only,
 * with boot information and no address (yiaddr 0), on port 67 (OFFER to DISCOVER) and on
 * the boot-server port 4011 (ACK to REQUEST/INFORM). Never answers a non-PXE client (D17).
 */
import { MessageType, Opt } from './constants';
import { silent, type Facts, type HandlerContext, type Outcome } from './context';
import { getIpInt, getU8 } from './options';
import type { DhcpPacket } from './packet';
import { addBoot, addProxyPxe, baseReply, echoRelayInfo } from './reply';

function proxyReply(ctx: HandlerContext, p: DhcpPacket, f: Facts, type: number): DhcpPacket {
  const r = baseReply(p, type, ctx.config.serverIdBytes);
  addBoot(r, p, f.decision);
  // iPXE takes a ProxyDHCP reply only with a next-server *and* a boot file, or a PXE boot menu
  // (its dhcp_has_pxeopts(); docs/dhcp.md "proxyDHCP and real iPXE"): a script URL in `file`
  // alone is ignored and the machine ends at "Nothing to boot". Name ourselves as next-server.
  if (r.siaddr === '0.0.0.0') r.siaddr = ctx.config.serverId;
  addProxyPxe(r, p);
  echoRelayInfo(r, p);
  return r;
}

export function onProxy(ctx: HandlerContext, p: DhcpPacket, f: Facts, viaPxePort: boolean): Outcome {
  if (!f.client.pxe && !f.client.httpBoot) return silent('proxy-not-pxe');
  const d = f.decision.kind;
  if (d !== 'loader' && d !== 'script' && d !== 'http-boot') return silent(`proxy-${d}`);
  const type = getU8(p.options, Opt.MESSAGE_TYPE);
  if (viaPxePort) {
    // Boot-server request on 4011: the client already has its address (ciaddr).
    if (type !== MessageType.REQUEST && type !== MessageType.INFORM) return silent('proxy-4011-not-request');
    return answer(ctx, proxyReply(ctx, p, f, MessageType.ACK), f, 4011, 'proxy ack on 4011');
  }
  if (type === MessageType.DISCOVER) return answer(ctx, proxyReply(ctx, p, f, MessageType.OFFER), f, 67, 'proxy offer');
  // Some ROMs send the REQUEST for the proxy offer to port 67 with our server-id.
  if (type === MessageType.REQUEST && getIpInt(p.options, Opt.SERVER_ID) === ctx.config.serverIdInt) {
    return answer(ctx, proxyReply(ctx, p, f, MessageType.ACK), f, 67, 'proxy ack on 67');
  }
  return silent('proxy-ignored-type');
}

/**
 * A registered host's proxy answer goes on its timeline (`dhcp.proxy`): in proxy mode Kickstand
 * leases nothing, so this is the only DHCP step an operator sees for it.
 */
function answer(ctx: HandlerContext, r: DhcpPacket, f: Facts, port: number, what: string): Outcome {
  if (f.host) {
    ctx.emit({
      kind: 'dhcp.proxy',
      host: f.host.name,
      mac: f.mac,
      message: `${what}: boot ${r.file || '(none)'}`,
      data: { boot: f.decision.kind, port, file: r.file },
    });
  }
  return { kind: 'reply', reply: r };
}
