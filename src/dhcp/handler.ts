/**
 * @module dhcp/handler
 * Datagram → decision → datagram, without sockets: decode (dhcp/packet), gather the client's
 * facts (dhcp/pxe, registry), decide the boot (boot/policy), run the message flow
 * (dhcp/authoritative or dhcp/proxy), pick the destination (dhcp/reply-route) and encode.
 * This is the path the fuzzer drives (reliability G1).
 */
import { decideBoot } from '../boot/policy';
import { BOOTREQUEST, MessageType, Opt, messageTypeName } from './constants';
import { onDecline, onDiscover, onInform, onRelease, onRequest } from './authoritative';
import { silent, type Facts, type HandlerContext, type Outcome } from './context';
import { clientKey } from './leases';
import { getHex, getU8 } from './options';
import { decodePacket, encodePacket, hexPairs, type DhcpPacket } from './packet';
import { onProxy } from './proxy';
import { bootClientOf } from './pxe';
import { maxReplyLength } from './reply';
import { replyDestination, type Destination, type RouteContext } from './reply-route';
import { chooseScope } from './scope';

const MAX_CLIENT_ID = 255; // D02: option 61 is an opaque key, bounded by the option length

function factsOf(ctx: HandlerContext, p: DhcpPacket): Facts {
  // Only Ethernet chaddrs name a registered machine; others are served as unknown.
  const mac = hexPairs(p.chaddr, Math.min(p.hlen, 6));
  const host = p.htype === 1 && p.hlen === 6 ? ctx.hosts.byMac(mac) : undefined;
  const client = bootClientOf(p);
  const rawId = getHex(p.options, Opt.CLIENT_ID);
  const clientId = rawId !== undefined && rawId.length > 0 && rawId.length <= MAX_CLIENT_ID * 2 ? rawId : null;
  return {
    mac,
    key: clientKey(mac, clientId),
    clientId,
    host,
    client,
    decision: decideBoot(client, host, ctx.config.policy),
  };
}

/** Runs the message flow for one decoded BOOTREQUEST. */
export async function handlePacket(ctx: HandlerContext, p: DhcpPacket, viaPxePort: boolean): Promise<Outcome> {
  if (p.op !== BOOTREQUEST) return silent('not-request'); // D19: never answer replies
  const type = getU8(p.options, Opt.MESSAGE_TYPE);
  if (type === undefined) return silent('bootp'); // plain BOOTP is not served
  const f = factsOf(ctx, p);
  if (f.decision.kind === 'ignore') return silent('unknown-host');
  const choice = chooseScope(p, ctx.config.scopes, ctx.config.trustedRelays);
  if ('drop' in choice) return silent(choice.drop);
  if (ctx.config.mode === 'proxy') return onProxy(ctx, p, f, viaPxePort);
  if (viaPxePort) return silent('pxe-port-in-authoritative-mode');
  switch (type) {
    case MessageType.DISCOVER:
      return onDiscover(ctx, p, f, choice.scope);
    case MessageType.REQUEST:
      return onRequest(ctx, p, f, choice.scope);
    case MessageType.DECLINE:
      return onDecline(ctx, p, f);
    case MessageType.RELEASE:
      return onRelease(ctx, p, f);
    case MessageType.INFORM:
      return onInform(ctx, p, f, choice.scope);
    default:
      return silent(`unexpected-${messageTypeName(type)}`);
  }
}

export type Processed =
  | { kind: 'send'; bytes: Buffer; to: Destination; request: string; reply: string; mac: string; xid: number }
  | { kind: 'drop'; reason: string; malformed: boolean; request: string; detail?: string };

/**
 * The whole per-datagram path. Never rejects for bad input: malformed packets come back as
 * `{kind:'drop', malformed:true}`. Store failures propagate (the caller logs; no ACK is sent).
 */
export async function processDatagram(ctx: HandlerContext, buf: Buffer, route: RouteContext): Promise<Processed> {
  const d = decodePacket(buf);
  if (!d.ok)
    return { kind: 'drop', reason: d.error.reason, malformed: true, request: 'malformed', detail: d.error.message };
  const p = d.packet;
  const request = messageTypeName(getU8(p.options, Opt.MESSAGE_TYPE));
  const out = await handlePacket(ctx, p, route.viaPxePort);
  if (out.kind === 'silent') return { kind: 'drop', reason: out.reason, malformed: false, request };
  const enc = encodePacket(out.reply, maxReplyLength(p));
  if (!enc.ok) return { kind: 'drop', reason: 'reply-too-large', malformed: false, request, detail: enc.message };
  return {
    kind: 'send',
    bytes: enc.bytes,
    to: replyDestination(p, out.reply, route),
    request,
    reply: messageTypeName(getU8(out.reply.options, Opt.MESSAGE_TYPE)),
    mac: hexPairs(p.chaddr, 6),
    xid: p.xid,
  };
}
