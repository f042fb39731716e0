/**
 * @module dhcp/pxe
 * PXE facts from a DHCP request → {@link BootClient}: options 60 (vendor class), 77 (user
 * class, RFC 3004), 93 (client arch, RFC 4578 §2.1), 97 (UUID, RFC 4578 §2.3) and 175
 * (iPXE encapsulated options). Tolerant: ROMs that omit 93 or 97 still boot (D18).
 */
import { HTTP_BOOT_ARCHES, firmwareFor, type BootClient } from '../boot/firmware';
import { Opt } from './constants';
import { getText } from './options';
import { hardwareAddress, type DhcpPacket } from './packet';

const MAX_TEXT = 64; // client-controlled text is bounded before it reaches logs (D03, D21)

function bounded(s: string | undefined): string | undefined {
  if (s === undefined) return undefined;
  const t = s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
  for (let i = 0; i < t.length; i += 1) {
    const c = t.charCodeAt(i);

    if (c < 0x20 || c > 0x7e) return t.replace(/[^\x20-\x7e]/g, '?');
  }
  return t; // printable already (the usual case): no regular expression per packet
}

/** RFC 4578 §2.1: option 93 is a list of 16-bit types; the first is the one in use. */
function archOf(p: DhcpPacket, vendorClass: string | undefined): number | undefined {
  const v = p.options.get(Opt.CLIENT_ARCH);
  if (v !== undefined && v.length >= 2) return v.readUInt16BE(0);
  // PXE 2.1 §2.2.5: "PXEClient:Arch:xxxxx:UNDI:yyyzzz" carries the arch in decimal.
  const m = vendorClass !== undefined ? /^(?:PXEClient|HTTPClient):Arch:(\d{5})/.exec(vendorClass) : null;
  return m ? Number(m[1]) : undefined;
}

/**
 * RFC 3004 §4: option 77 is a list of length-prefixed classes. iPXE and many ROMs send one
 * bare string instead ("iPXE"); accept both.
 */
export function userClasses(v: Buffer | undefined): string[] {
  if (v === undefined || v.length === 0) return [];
  const out: string[] = [];
  let i = 0;
  while (i < v.length) {
    const len = v[i]!;
    if (len === 0 || i + 1 + len > v.length) return [v.toString('latin1')];
    out.push(v.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  return out;
}

/** BootClient facts of a request. */
export function bootClientOf(p: DhcpPacket): BootClient {
  const vendorClass = getText(p.options, Opt.VENDOR_CLASS);
  const classes = userClasses(p.options.get(Opt.USER_CLASS));
  const arch = archOf(p, vendorClass);
  const uuid = p.options.get(Opt.CLIENT_UUID);
  return {
    mac: hardwareAddress(p),
    arch,
    firmware: firmwareFor(arch),
    pxe: vendorClass?.startsWith('PXEClient') === true,
    httpBoot: vendorClass?.startsWith('HTTPClient') === true || (arch !== undefined && HTTP_BOOT_ARCHES.has(arch)),
    ipxe: classes.includes('iPXE') || p.options.has(Opt.IPXE_ENCAP),
    vendorClass: bounded(vendorClass),
    userClass: classes.slice(0, 4).map((c) => bounded(c)!),
    uuid: uuid !== undefined && uuid.length === 17 ? uuid.subarray(1).toString('hex') : undefined,
  };
}
