/**
 * @module model/mac
 * MAC addresses. Accepted on input as `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF` or Cisco's
 * `aabb.ccdd.eeff`; stored and compared in one canonical form: lower case, colon separated.
 */
import { ErrorCode, invalid } from '../errors';

const COLON = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const DASH = /^[0-9a-f]{2}(-[0-9a-f]{2}){5}$/;
const DOTTED = /^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/;

/** Canonical form of `input`, or undefined when it is not a MAC in an accepted notation. */
export function parseMac(input: string): string | undefined {
  const s = input.trim().toLowerCase();
  let hex: string;
  if (COLON.test(s) || DASH.test(s)) hex = s.replace(/[:-]/g, '');
  else if (DOTTED.test(s)) hex = s.replace(/\./g, '');
  else return undefined;
  return hex.match(/../g)!.join(':');
}

/** Canonical form of `input`; throws KS_INVALID_MAC naming `field` when it is not a MAC. */
export function canonicalMac(input: string, field = 'mac'): string {
  const mac = parseMac(input);
  if (mac === undefined) {
    throw invalid(
      ErrorCode.INVALID_MAC,
      field,
      `${JSON.stringify(input)} is not a MAC address`,
      'write it as aa:bb:cc:dd:ee:ff, AA-BB-CC-DD-EE-FF or aabb.ccdd.eeff',
    );
  }
  return mac;
}

/** 6 raw bytes of a canonical MAC. */
export function macToBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}
