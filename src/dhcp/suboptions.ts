/**
 * @module dhcp/suboptions
 * Encapsulated sub-option TLVs: option 43 PXE vendor options (PXE spec 2.1 §2.2.5, Pad/End
 * like RFC 2132), option 82 relay agent information (RFC 3046 §2.0: no Pad/End) and
 * option 175 iPXE encapsulated options. Malformed input reads as undefined, never throws.
 */
import { Opt, PXE_DC_BOOTFILE_ONLY, PXE_DISCOVERY_CONTROL, RelaySub } from './constants';
import { ipFromBytes } from './options';

export type SubOptions = Map<number, Buffer>;

/** Decode sub-options; `padEnd` treats 0 as Pad and 255 as End (options 43 and 175). */
export function decodeSubOptions(v: Buffer, padEnd: boolean): SubOptions | undefined {
  const out: SubOptions = new Map();
  let i = 0;
  while (i < v.length) {
    const code = v[i]!;
    if (padEnd && code === Opt.PAD) {
      i += 1;
      continue;
    }
    if (padEnd && code === Opt.END) break;
    if (i + 1 >= v.length) return undefined;
    const len = v[i + 1]!;
    if (i + 2 + len > v.length) return undefined;
    out.set(code, Buffer.from(v.subarray(i + 2, i + 2 + len)));
    i += 2 + len;
  }
  return out;
}

/** Encode sub-options (each ≤ 255 bytes); `end` appends End (255), as option 43 wants. */
export function encodeSubOptions(subs: SubOptions, end: boolean): Buffer {
  const parts: Buffer[] = [];
  for (const [code, v] of subs) parts.push(Buffer.from([code, Math.min(v.length, 255)]), v.subarray(0, 255));
  if (end) parts.push(Buffer.from([Opt.END]));
  return Buffer.concat(parts);
}

/**
 * Option 43 for proxyDHCP offers: PXE_DISCOVERY_CONTROL = 8, "use the boot file in this
 * packet, no boot-server discovery" (PXE 2.1 table 2-1). BIOS PXE ROMs ignore a proxy offer
 * without option 43.
 */
export function pxeVendorOptions(): Buffer {
  return encodeSubOptions(new Map([[PXE_DISCOVERY_CONTROL, Buffer.from([PXE_DC_BOOTFILE_ONLY])]]), true);
}

/** RFC 3527 link-selection sub-option (5) of option 82: the subnet the client is on. */
export function linkSelection(opt82: Buffer | undefined): string | undefined {
  if (opt82 === undefined) return undefined;
  const subs = decodeSubOptions(opt82, false);
  const v = subs?.get(RelaySub.LINK_SELECTION);
  return v !== undefined && v.length === 4 ? ipFromBytes(v) : undefined;
}

/** Where a relayed request came from, for the timeline: `giaddr` and option 82's ids. */
export interface RelayOrigin {
  giaddr: string;
  circuitId?: string;
  remoteId?: string;
}

/** A sub-option id as text when it is printable ASCII (an interface name), else hex. */
function idText(v: Buffer | undefined): string | undefined {
  if (v === undefined) return undefined;
  return v.every((b) => b >= 0x20 && b < 0x7f) ? v.toString('latin1') : v.toString('hex');
}

/**
 * The relay a request came through (RFC 2131 §4.1: giaddr set) and the circuit and remote id
 * of its option 82 (RFC 3046 §2.0, sub-options 1 and 2), or undefined for a request that was
 * not relayed. Malformed option 82 leaves only `giaddr`.
 */
export function relayOrigin(giaddr: string, opt82: Buffer | undefined): RelayOrigin | undefined {
  if (giaddr === '0.0.0.0') return undefined;
  const subs = opt82 === undefined ? undefined : decodeSubOptions(opt82, false);
  const circuitId = idText(subs?.get(RelaySub.CIRCUIT_ID));
  const remoteId = idText(subs?.get(RelaySub.REMOTE_ID));
  return {
    giaddr,
    ...(circuitId !== undefined ? { circuitId } : {}),
    ...(remoteId !== undefined ? { remoteId } : {}),
  };
}
