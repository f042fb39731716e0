/**
 * @module config/sections/dhcp
 * DHCP server mode and policy. Owned by the DHCP service (src/dhcp/).
 */
import { z } from 'zod';
import { dhcpOptionSetSchema, EMPTY_OPTION_SET } from './dhcp-options';
import { ipv4, subnetSchema } from './network';

const fileName = z.string().min(1).max(127); // fits the 128-byte BOOTP `file` field with its NUL

export const loadersSchema = z
  .object({
    /** BIOS PXE (arch 0): iPXE with the UNDI driver. */
    bios: fileName.default('undionly.kpxe'),
    /** UEFI x64 (arch 7, 9, 16). `snponly.efi` is the alternative for picky NICs. */
    uefi: fileName.default('ipxe.efi'),
    /** UEFI IA32 (arch 6, 15). */
    uefi32: fileName.default('ipxe-i386.efi'),
    /** UEFI ARM64 (arch 11, 19). */
    arm64: fileName.default('ipxe-arm64.efi'),
    /** UEFI ARM32 (arch 10, 18). */
    arm32: fileName.default('ipxe-arm32.efi'),
  })
  .strict();

const LOADER_DEFAULTS = loadersSchema.parse({});

/**
 * The Secure Boot chain's first stage per UEFI family, for hosts whose profile has
 * `loader: grub`: Microsoft-signed shim, which loads `grubx64.efi` / `grubaa64.efi` (the signed
 * network GRUB) from the same TFTP directory (docs/firmware.md "Secure Boot").
 */
export const grubLoadersSchema = z
  .object({
    uefi: fileName.default('shimx64.efi'),
    arm64: fileName.default('shimaa64.efi'),
  })
  .strict();

const GRUB_LOADER_DEFAULTS = grubLoadersSchema.parse({});

export const dhcpSchema = z
  .object({
    /** authoritative: leases from the pool; proxy: PXE boot info only, beside another DHCP server; off. */
    mode: z.enum(['authoritative', 'proxy', 'off']).default('authoritative'),
    /** Server port (67). Tests and benchmarks may move it. */
    port: z.number().int().min(1).max(65535).default(67),
    /** proxyDHCP boot-server port (PXE spec: 4011). */
    proxyPort: z.number().int().min(1).max(65535).default(4011),
    /** Address to bind; 0.0.0.0 is required to receive broadcasts (Node has no IP_PKTINFO). */
    bind: z.string().default('0.0.0.0'),
    /** What to do with MACs not in the registry: ignore them, or lease + discover + local boot. */
    unknownHosts: z.enum(['ignore', 'discover']).default('ignore'),
    /** Subnets behind DHCP relays, chosen by giaddr and option 82 link-selection. */
    relayed: z.array(subnetSchema).default([]),
    /**
     * Relay agent addresses (giaddr) accepted (D12). Empty: any giaddr inside a configured
     * subnet (network or relayed) is accepted.
     */
    trustedRelays: z.array(ipv4).default([]),
    /** Boot loader file names served over TFTP. */
    loaders: loadersSchema.default(LOADER_DEFAULTS),
    /** Secure Boot loaders (shim) for profiles with `loader: grub`, served over TFTP. */
    grubLoaders: grubLoadersSchema.default(GRUB_LOADER_DEFAULTS),
    /** URL path under http.publicUrl where UEFI HTTP-boot clients fetch the loaders. */
    httpBootPath: z.string().startsWith('/').default('/images'),
    /** Seconds an offered address is held for the client's REQUEST (D08; its `offered` row's life with reserveOffers). */
    offerTtl: z.number().int().min(5).max(600).default(60),
    /**
     * Reserve each new offer as an `offered` row in the store before the DHCPOFFER leaves, so
     * that daemons sharing one PostgreSQL never offer one address to two clients (one write per
     * new offer; docs/scale-out.md "Offers"). Unset: on with store.kind postgres, off with sqlite.
     */
    reserveOffers: z.boolean().nullable().default(null),
    /** Seconds a declined address stays quarantined (RFC 2131 §4.3.3; Kea's decline-probation-period). */
    declineProbation: z.number().int().min(60).default(86400),
    /** Most DECLINEs honoured per client per hour; more are ignored and logged (G8). */
    declineLimitPerHour: z.number().int().min(1).max(1000).default(10),
    /**
     * Before opening its sockets, run synthetic exchanges over loopback so that the first real
     * packets meet compiled code (dhcp/warmup.ts; adds about a second to start-up).
     */
    warmUp: z.boolean().default(true),
    /** Global DHCP options (config/sections/dhcp-options.ts): the lowest level, under scope, profile and host. */
    options: dhcpOptionSetSchema.default(EMPTY_OPTION_SET),
    /** Per-host DHCP options by registered host name: the highest level. */
    hostOptions: z
      .record(z.string(), dhcpOptionSetSchema)
      .superRefine((m, ctx) => {
        for (const name of Object.keys(m))
          if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name))
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: 'is not a host name (RFC 1123 label: lower-case letters, digits, -), e.g. node1',
            });
      })
      .default({}),
  })
  .strict();

export type DhcpConfig = z.infer<typeof dhcpSchema>;
