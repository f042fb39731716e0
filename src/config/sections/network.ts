/**
 * @module config/sections/network
 * The directly attached provisioning segment: Kickstand's own address on it, the subnet,
 * the dynamic pool, and what DHCP tells clients (gateway, DNS, domain, lease time, options).
 */
import { z } from 'zod';
import { inSubnet, ipToInt, isIpv4, parseCidr } from '../../model/ipv4';
import { dhcpOptionSetSchema, EMPTY_OPTION_SET } from './dhcp-options';

export const ipv4 = z.string().refine(isIpv4, { message: 'not an IPv4 address (dotted quad)' });
export const cidr = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, { message: 'not a CIDR subnet like 198.18.0.0/24' });

export const subnetSchema = z
  .object({
    /** CIDR, e.g. 198.18.0.0/24 */
    subnet: cidr,
    pool: z.object({ start: ipv4, end: ipv4 }).strict(),
    gateway: ipv4.nullable().default(null),
    dns: z.array(ipv4).default([]),
    domain: z.string().min(1).nullable().default(null),
    /** Lease time in seconds (RFC 2132 §9.2, option 51). */
    leaseTime: z
      .number()
      .int()
      .min(60)
      .max(7 * 86400)
      .default(3600),
    /** DHCP options of this scope (config/sections/dhcp-options.ts); over `dhcp.options`. */
    options: dhcpOptionSetSchema.default(EMPTY_OPTION_SET),
  })
  .strict()
  .superRefine((s, ctx) => {
    const sn = parseCidr(s.subnet);
    if (!sn) return;
    for (const k of ['start', 'end'] as const) {
      if (!inSubnet(s.pool[k], sn))
        ctx.addIssue({ code: 'custom', path: ['pool', k], message: `is outside subnet ${s.subnet}` });
    }
    if (ipToInt(s.pool.start) > ipToInt(s.pool.end))
      ctx.addIssue({ code: 'custom', path: ['pool', 'end'], message: 'is before pool.start' });
    if (s.gateway !== null && !inSubnet(s.gateway, sn))
      ctx.addIssue({ code: 'custom', path: ['gateway'], message: `is outside subnet ${s.subnet}` });
  });

export const networkSchema = z
  .object({
    /** Kickstand's own IPv4 address on the provisioning segment (server id, next-server, URLs). */
    address: ipv4,
  })
  .and(subnetSchema)
  .superRefine((n, ctx) => {
    const sn = parseCidr(n.subnet);
    if (sn && !inSubnet(n.address, sn))
      ctx.addIssue({ code: 'custom', path: ['address'], message: `is outside subnet ${n.subnet}` });
  });

export type SubnetConfig = z.infer<typeof subnetSchema>;
export type NetworkConfig = z.infer<typeof networkSchema>;
