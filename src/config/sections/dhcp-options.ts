/**
 * @module config/sections/dhcp-options
 * DHCP option sets (docs/dhcp.md, "Options"): the first-class options NTP (42), interface MTU
 * (26), domain search (119) and the host-name policy (12), plus operator-defined options by code
 * and type. One schema, used at four levels: `dhcp.options` (global), `network.options` and
 * `dhcp.relayed[].options` (scope), `profiles.NAME.dhcpOptions` (profile) and
 * `dhcp.hostOptions.NAME` (host); the DHCP service layers them host > profile > scope > global.
 * Every value is checked here, at config load, so encoding them (dhcp/options.ts) cannot fail.
 */
import { z } from 'zod';
import { isIpv4 } from '../../model/ipv4';

export const OPTION_TYPES = ['ip', 'ips', 'u8', 'u16', 'u32', 'i32', 'bool', 'string', 'hex', 'domains'] as const;
export type OptionType = (typeof OPTION_TYPES)[number];

/**
 * Codes an operator may not define, with why and what to do instead: the server derives them,
 * they belong to the protocol or the boot decision, or they have a first-class key.
 */
export const RESERVED_CODES: Readonly<Record<number, string>> = {
  0: 'Pad (RFC 2132 §3.1) is not an option',
  1: 'the subnet mask comes from the scope `subnet`',
  3: 'set the router with the scope key `gateway`',
  6: 'set DNS servers with the scope key `dns`',
  12: 'set the host-name policy with `hostname: name | fqdn | off`',
  15: 'set the domain name with the scope key `domain`',
  26: 'set the interface MTU with `mtu`',
  28: 'the broadcast address comes from the scope `subnet`',
  42: 'set NTP servers with `ntp`',
  43: 'vendor options carry the PXE boot decision (PXE 2.1 §2.2.5)',
  50: 'requested address is sent by clients (RFC 2132 §9.1)',
  51: 'the lease time comes from the scope key `leaseTime`',
  52: 'option overload is the encoder’s (RFC 2132 §9.3)',
  53: 'the DHCP message type is set by the server (RFC 2132 §9.6)',
  54: 'the server identifier is `network.address` (RFC 2132 §9.7)',
  55: 'the parameter request list is sent by clients (RFC 2132 §9.8)',
  56: 'the message option is the server’s (RFC 2132 §9.9)',
  57: 'maximum message size is sent by clients (RFC 2132 §9.10)',
  58: 'T1 is derived from `leaseTime` (RFC 2132 §9.11)',
  59: 'T2 is derived from `leaseTime` (RFC 2132 §9.12)',
  60: 'the vendor class is the boot decision’s (PXEClient, HTTPClient)',
  61: 'the client identifier is sent by clients (RFC 2132 §9.14)',
  66: 'the TFTP server name is the boot decision’s',
  67: 'the boot file name is the boot decision’s (set loaders under `dhcp.loaders`)',
  82: 'relay agent information is echoed from the relay (RFC 3046 §2.2)',
  93: 'the client architecture is sent by clients (RFC 4578 §2.1)',
  94: 'the client network interface is sent by clients (RFC 4578 §2.2)',
  97: 'the client UUID is sent by clients (RFC 4578 §2.3)',
  118: 'subnet selection is sent by clients (RFC 3011)',
  119: 'set the domain search list with `domainSearch`',
  255: 'End (RFC 2132 §3.2) is not an option',
};

// RFC 1035 §2.3.1 labels (and `_`, used by service names); 253 characters in all.
const LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** A DNS name as RFC 1035 §3.1 allows on the wire; a trailing dot is accepted. */
export function isDomainName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  return name.length > 0 && name.length <= 253 && name.split('.').every((l) => LABEL.test(l));
}

const domainName = z
  .string()
  .refine(isDomainName, { message: 'not a DNS name (labels of 1-63 letters, digits, -; e.g. lab.example.com)' });

/** Bytes of `hex` written as `0a1b2c` or `0a:1b:2c`; undefined when it is not hex. */
export function hexBytes(s: string): number | undefined {
  return /^[0-9a-fA-F]{2}(:?[0-9a-fA-F]{2})*$/.test(s) ? s.replace(/:/g, '').length / 2 : undefined;
}

const INT_RANGE: Partial<Record<OptionType, [number, number]>> = {
  u8: [0, 255],
  u16: [0, 65535],
  u32: [0, 4294967295],
  i32: [-2147483648, 2147483647],
};

/** What is wrong with `value` for `type`, or undefined when it fits (one option's value ≤ 255 bytes). */
export function checkOptionValue(type: OptionType, value: unknown): string | undefined {
  const range = INT_RANGE[type];
  if (range !== undefined) {
    return typeof value === 'number' && Number.isInteger(value) && value >= range[0] && value <= range[1]
      ? undefined
      : `a ${type} value is an integer from ${range[0]} to ${range[1]}`;
  }
  switch (type) {
    case 'ip':
      return typeof value === 'string' && isIpv4(value)
        ? undefined
        : 'an ip value is one IPv4 address, e.g. 198.18.0.1';
    case 'ips':
      return Array.isArray(value) && value.length > 0 && value.length <= 63 && value.every((v) => isIpv4(String(v)))
        ? undefined
        : 'an ips value is a list of 1-63 IPv4 addresses, e.g. [198.18.0.1, 198.18.0.2]';
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'a bool value is true or false';
    case 'string':
      return typeof value === 'string' && value.length > 0 && Buffer.byteLength(value, 'utf8') <= 255
        ? undefined
        : 'a string value is 1-255 bytes of text';
    case 'hex': {
      const n = typeof value === 'string' ? hexBytes(value) : undefined;
      return n !== undefined && n <= 255
        ? undefined
        : 'a hex value is 1-255 bytes written as hex, e.g. 01:a0:ff or 01a0ff';
    }
    case 'domains':
      return Array.isArray(value) &&
        value.length > 0 &&
        value.length <= 32 &&
        value.every((v) => typeof v === 'string' && isDomainName(v))
        ? undefined
        : 'a domains value is a list of 1-32 DNS names, e.g. [lab.example.com, example.com]';
    default:
      return `unknown type ${type as string}`;
  }
}

export const customOptionSchema = z
  .object({
    /** Option code, 1-254; 224-254 are site-specific (RFC 2132 §2). */
    code: z.number().int().min(1, 'a code is 1-254').max(254, 'a code is 1-254'),
    type: z.enum(OPTION_TYPES),
    value: z.unknown(),
    /** A label for logs and docs; not sent. */
    name: z.string().max(64).optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    const why = RESERVED_CODES[o.code];
    if (why !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['code'],
        message: `option ${o.code} cannot be defined here: ${why}; site-specific options use codes 224-254`,
      });
    const bad = checkOptionValue(o.type, o.value);
    if (bad !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], message: `${bad} (type ${o.type})` });
  });

export const dhcpOptionSetSchema = z
  .object({
    /** NTP servers, option 42 (RFC 2132 §8.3). */
    ntp: z.array(z.string().refine(isIpv4, 'not an IPv4 address (dotted quad)')).min(1).max(63).optional(),
    /** Interface MTU, option 26 (RFC 2132 §5.1: at least 68). */
    mtu: z.number().int().min(68, 'the MTU is at least 68 (RFC 2132 §5.1)').max(65535).optional(),
    /** Domain search list, option 119 (RFC 3397). */
    domainSearch: z.array(domainName).min(1).max(32).optional(),
    /**
     * Option 12: `name` sends a registered host's name, `fqdn` its name with the scope's
     * `domain`, `off` nothing. Default `name`.
     */
    hostname: z.enum(['name', 'fqdn', 'off']).optional(),
    /** Operator-defined options by code and type. */
    custom: z.array(customOptionSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const seen = new Map<number, number>();
    s.custom.forEach((o, i) => {
      const first = seen.get(o.code);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['custom', i, 'code'],
          message: `option ${o.code} is already defined at custom.${first}; keep one of them`,
        });
      else seen.set(o.code, i);
    });
  });

export type DhcpOptionSet = z.infer<typeof dhcpOptionSetSchema>;
export type CustomOption = z.infer<typeof customOptionSchema>;

export const EMPTY_OPTION_SET: DhcpOptionSet = { custom: [] };
